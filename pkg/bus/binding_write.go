package bus

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// Header names of the binding. CloudEvents attribute names are lower-case, and so are these.
const (
	// HeaderPrefix prefixes every CloudEvents attribute and extension header (binary mode).
	HeaderPrefix = "ce-"
	// HeaderContentType carries datacontenttype.
	HeaderContentType = "content-type"
	// HeaderExtensionTypes lists "name=Type" (comma separated, sorted) for every extension
	// whose CloudEvents type is not String, so the receiver restores the type. The type names
	// are those of the CloudEvents type system: Boolean, Integer, Binary, URI, URI-reference,
	// Timestamp.
	HeaderExtensionTypes = "conductor-ce-types"
	// HeaderEscaped lists (comma separated, sorted) the attribute and extension names whose
	// header value is percent-encoded because NATS headers cannot carry it as is.
	HeaderEscaped = "conductor-ce-escaped"
)

// CloudEvents type system names used in HeaderExtensionTypes.
const (
	typeBoolean   = "Boolean"
	typeInteger   = "Integer"
	typeString    = "String"
	typeBinary    = "Binary"
	typeURI       = "URI"
	typeURIRef    = "URI-reference"
	typeTimestamp = "Timestamp"
)

// EventToMsg encodes a valid event as a binary-mode NATS message for subject.
func EventToMsg(subject string, evt event.Event) (*nats.Msg, error) {
	if err := evt.Validate(); err != nil {
		return nil, fmt.Errorf("bus: invalid event: %w", err)
	}
	msg := nats.NewMsg(subject)
	ctx := binding.WithForceBinary(context.Background())
	if err := WriteMsg(ctx, binding.ToMessage(&evt), msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// WriteMsg writes m into msg in binary mode: headers are added to msg.Header (headers already
// there, such as the identity, are kept) and the data replaces msg.Data.
func WriteMsg(ctx context.Context, m binding.Message, msg *nats.Msg, transformers ...binding.Transformer) error {
	w := &binaryWriter{msg: msg}
	ctx = binding.WithForceBinary(ctx)
	if _, err := binding.Write(ctx, m, nil, w, transformers...); err != nil {
		return fmt.Errorf("bus: encode event: %w", err)
	}
	return nil
}

// binaryWriter implements binding.BinaryWriter onto a nats.Msg.
type binaryWriter struct {
	msg        *nats.Msg
	extTypes   []string
	escapedSet []string
}

var _ binding.BinaryWriter = (*binaryWriter)(nil)

func (w *binaryWriter) Start(context.Context) error {
	if w.msg.Header == nil {
		w.msg.Header = nats.Header{}
	}
	w.msg.Data = nil
	return nil
}

func (w *binaryWriter) SetAttribute(attr spec.Attribute, value any) error {
	s, err := types.Format(value)
	if err != nil {
		return fmt.Errorf("attribute %s: %w", attr.Name(), err)
	}
	key := HeaderPrefix + attr.Name()
	if attr.Kind() == spec.DataContentType {
		key = HeaderContentType
	}
	w.set(attr.Name(), key, s)
	return nil
}

func (w *binaryWriter) SetExtension(name string, value any) error {
	v, err := types.Validate(value)
	if err != nil {
		return fmt.Errorf("extension %s: %w", name, err)
	}
	typeName, err := cloudEventsTypeName(v)
	if err != nil {
		return fmt.Errorf("extension %s: %w", name, err)
	}
	s, err := types.Format(v)
	if err != nil {
		return fmt.Errorf("extension %s: %w", name, err)
	}
	if typeName != typeString {
		w.extTypes = append(w.extTypes, name+"="+typeName)
	}
	w.set(name, HeaderPrefix+name, s)
	return nil
}

func (w *binaryWriter) SetData(data io.Reader) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(data); err != nil {
		return fmt.Errorf("read data: %w", err)
	}
	w.msg.Data = buf.Bytes()
	return nil
}

func (w *binaryWriter) End(context.Context) error {
	setList(w.msg.Header, HeaderExtensionTypes, w.extTypes)
	setList(w.msg.Header, HeaderEscaped, w.escapedSet)
	return nil
}

// set stores one header, percent-encoding values a NATS header would alter.
func (w *binaryWriter) set(name, key, value string) {
	if !headerSafe(value) {
		value = url.PathEscape(value)
		w.escapedSet = append(w.escapedSet, name)
	}
	w.msg.Header.Set(key, value)
}

func setList(h nats.Header, key string, items []string) {
	if len(items) == 0 {
		h.Del(key)
		return
	}
	slices.Sort(items)
	h.Set(key, strings.Join(items, ","))
}

// headerSafe reports whether nats.go carries value unchanged: it replaces CR and LF with
// spaces and trims surrounding whitespace.
func headerSafe(value string) bool {
	return !strings.ContainsAny(value, "\r\n") && textproto.TrimString(value) == value
}

func cloudEventsTypeName(v any) (string, error) {
	switch v.(type) {
	case bool:
		return typeBoolean, nil
	case int32:
		return typeInteger, nil
	case string:
		return typeString, nil
	case []byte:
		return typeBinary, nil
	case types.URI:
		return typeURI, nil
	case types.URIRef:
		return typeURIRef, nil
	case types.Timestamp:
		return typeTimestamp, nil
	}
	return "", fmt.Errorf("%T is not a CloudEvents type", v)
}
