package cloudevents

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// OCM extension names (protocol.md 2.3). On the wire each is the attribute key "ce-" + name.
const (
	ExtResourceID        = "resourceid"
	ExtResourceVersion   = "resourceversion"
	ExtClusterName       = "clustername"
	ExtOriginalSource    = "originalsource"
	ExtDeletionTimestamp = "deletiontimestamp"
	ExtSequenceID        = "sequenceid"
	ExtStatusHash        = "statushash"
	ExtMetadata          = "metadata"
	ExtLogTracing        = "logtracing"
)

var (
	// ErrMissingExtension means the event does not carry the extension.
	ErrMissingExtension = errors.New("missing extension")
	// ErrInvalidExtension means the extension's value has a type or form receivers reject.
	ErrInvalidExtension = errors.New("invalid extension")
)

// HasExtension reports whether e carries extension name.
func HasExtension(e event.Event, name string) bool {
	_, err := extension(e, name)
	return err == nil
}

func extension(e event.Event, name string) (any, error) {
	var v any
	ok := false
	if e.Context != nil { // a zero event.Event has no context
		v, ok = e.Context.GetExtensions()[name]
	}
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrMissingExtension, name)
	}
	return v, nil
}

// stringExtension rejects non-string values, as sdk-go codecs do for string extensions.
func stringExtension(e event.Event, name string) (string, error) {
	v, err := extension(e, name)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w %q: want a string, got %T", ErrInvalidExtension, name, v)
	}
	return s, nil
}

// ClusterName is the managed cluster the event concerns; it routes pushes.
func ClusterName(e event.Event) (string, error) { return stringExtension(e, ExtClusterName) }

// ResourceID is the resource's unique id (object UID, or the source-assigned id of a work).
func ResourceID(e event.Event) (string, error) { return stringExtension(e, ExtResourceID) }

// OriginalSource is the source an agent's resource belongs to (may be the empty string).
func OriginalSource(e event.Event) (string, error) { return stringExtension(e, ExtOriginalSource) }

// SequenceID is the work agent's snowflake id ordering its status events.
func SequenceID(e event.Event) (string, error) { return stringExtension(e, ExtSequenceID) }

// StatusHash is the work agent's hex SHA-256 of the work status.
func StatusHash(e event.Event) (string, error) { return stringExtension(e, ExtStatusHash) }

// Metadata is the JSON ObjectMeta of a work.
func Metadata(e event.Event) (string, error) { return stringExtension(e, ExtMetadata) }

// LogTracing is the JSON map of logging annotations of a work.
func LogTracing(e event.Event) (string, error) { return stringExtension(e, ExtLogTracing) }

// ResourceVersionString reads a string resourceversion (every data type but ManifestBundles).
func ResourceVersionString(e event.Event) (string, error) {
	return stringExtension(e, ExtResourceVersion)
}

// ResourceVersionInt reads an integer resourceversion (ManifestBundles: the generation). Like the work
// agent it accepts ce_integer or a decimal string.
func ResourceVersionInt(e event.Event) (int64, error) {
	v, err := extension(e, ExtResourceVersion)
	if err != nil {
		return 0, err
	}
	switch v := v.(type) {
	case int32:
		return int64(v), nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w %q: %q is not a decimal integer", ErrInvalidExtension, ExtResourceVersion, v)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%w %q: want an integer, got %T", ErrInvalidExtension, ExtResourceVersion, v)
	}
}

// ResourceVersionNumber reads resourceversion as a number in the wire form of its data type, for
// resync comparisons. A string resourceversion must be a base-10 int64 (protocol.md 2.2).
func ResourceVersionNumber(e event.Event, format ResourceVersionFormat) (int64, error) {
	if format == ResourceVersionInteger {
		return ResourceVersionInt(e)
	}
	s, err := ResourceVersionString(e)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %q is not a decimal integer", ErrInvalidExtension, ExtResourceVersion, s)
	}
	return n, nil
}

// DeletionTimestamp reads a ce_timestamp or an RFC 3339 string.
func DeletionTimestamp(e event.Event) (time.Time, error) {
	v, err := extension(e, ExtDeletionTimestamp)
	if err != nil {
		return time.Time{}, err
	}
	t, err := types.ToTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q: %w", ErrInvalidExtension, ExtDeletionTimestamp, err)
	}
	return t, nil
}

// SetClusterName sets the clustername extension.
func SetClusterName(e *event.Event, v string) { e.SetExtension(ExtClusterName, v) }

// SetResourceID sets the resourceid extension.
func SetResourceID(e *event.Event, v string) { e.SetExtension(ExtResourceID, v) }

// SetOriginalSource sets the originalsource extension (the empty string is kept, as sdk-go does).
func SetOriginalSource(e *event.Event, v string) { e.SetExtension(ExtOriginalSource, v) }

// SetSequenceID sets the sequenceid extension.
func SetSequenceID(e *event.Event, v string) { e.SetExtension(ExtSequenceID, v) }

// SetStatusHash sets the statushash extension.
func SetStatusHash(e *event.Event, v string) { e.SetExtension(ExtStatusHash, v) }

// SetMetadata sets the metadata extension.
func SetMetadata(e *event.Event, v string) { e.SetExtension(ExtMetadata, v) }

// SetLogTracing sets the logtracing extension.
func SetLogTracing(e *event.Event, v string) { e.SetExtension(ExtLogTracing, v) }

// SetResourceVersionString sets a string resourceversion (every data type but ManifestBundles).
func SetResourceVersionString(e *event.Event, v string) { e.SetExtension(ExtResourceVersion, v) }

// SetResourceVersionInt sets an integer resourceversion (ManifestBundles). The wire type is int32, so
// larger values are refused rather than sent in a form agents cannot read.
func SetResourceVersionInt(e *event.Event, v int64) error {
	if v > math.MaxInt32 || v < math.MinInt32 {
		return fmt.Errorf("%w %q: %d is outside the int32 wire range", ErrInvalidExtension, ExtResourceVersion, v)
	}
	e.SetExtension(ExtResourceVersion, int32(v))
	return nil
}

// SetDeletionTimestamp sets the deletiontimestamp extension (a ce_timestamp on the wire).
func SetDeletionTimestamp(e *event.Event, t time.Time) { e.SetExtension(ExtDeletionTimestamp, t) }
