package codec

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cloudevents-conductor/conductor/pkg/apis/work/payload"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// ErrMalformed is wrapped by every decoding error: the request, not the hub, is at fault.
var ErrMalformed = errors.New("malformed event data")

// Decode unmarshals the JSON data of evt into into (a pointer).
func Decode(evt event.Event, into any) error {
	data := evt.Data()
	if len(data) == 0 {
		return fmt.Errorf("%w: event %s has no data", ErrMalformed, evt.ID())
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("%w: event %s: %w", ErrMalformed, evt.ID(), err)
	}
	return nil
}

// DecodeManifestBundleStatus reads the data of a work agent's status event.
func DecodeManifestBundleStatus(evt event.Event) (*payload.ManifestBundleStatus, error) {
	status := &payload.ManifestBundleStatus{}
	if err := Decode(evt, status); err != nil {
		return nil, err
	}
	return status, nil
}

// DecodeResyncRequest reads the data of a spec resync request. Missing data means an empty list.
func DecodeResyncRequest(evt event.Event) (ce.ResourceVersionList, error) {
	var list ce.ResourceVersionList
	if len(evt.Data()) == 0 {
		return list, nil
	}
	if err := Decode(evt, &list); err != nil {
		return ce.ResourceVersionList{}, err
	}
	return list, nil
}
