package cloudevents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"google.golang.org/protobuf/types/known/timestamppb"

	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// SpecVersion is the only CloudEvents spec version on the OCM wire.
const SpecVersion = event.CloudEventsVersionV1

// Attribute keys of the sdk-go gRPC mapping (protocol.md 1.3): datacontenttype has its own unprefixed
// key, every other optional attribute and extension is "ce-<name>".
const (
	AttributeKeyContentType = "contenttype"
	AttributeKeyPrefix      = "ce-"
)

var (
	// ErrInvalidEvent is wrapped by every ToProto and FromProto error.
	ErrInvalidEvent = errors.New("invalid cloudevent")
	// ErrUnknownEncoding means sdk-go receivers would drop the message: no attributes, an unknown
	// spec version or an unsupported structured format.
	ErrUnknownEncoding = errors.New("unknown encoding")
	// ErrUnsupportedSpecVersion means a spec version other than 1.0.
	ErrUnsupportedSpecVersion = errors.New("unsupported spec version")
	// ErrInvalidAttribute means an attribute value has no wire form or cannot be read.
	ErrInvalidAttribute = errors.New("invalid attribute")
)

func invalidEvent(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidEvent}, args...)...)
}

func unsupportedSpecVersion(v string) error {
	return invalidEvent("%w: %w %q", ErrUnknownEncoding, ErrUnsupportedSpecVersion, v)
}

// ToProto encodes e in binary mode, as sdk-go's WritePBMessage does. The event must be a valid
// CloudEvents 1.0 event with at least one optional attribute or extension: receivers drop messages
// with an empty attribute map. The result shares e's data bytes.
func ToProto(e event.Event) (*pbv1.CloudEvent, error) {
	if e.Context == nil {
		return nil, invalidEvent("event has no context")
	}
	if v := e.SpecVersion(); v != SpecVersion {
		return nil, unsupportedSpecVersion(v)
	}
	if err := e.Validate(); err != nil {
		return nil, invalidEvent("%w", err)
	}
	w := &protoWriter{msg: &pbv1.CloudEvent{Attributes: map[string]*pbv1.CloudEventAttributeValue{}}}
	if _, err := binding.Write(context.Background(), binding.ToMessage(&e), nil, w); err != nil {
		return nil, invalidEvent("%w", err)
	}
	if len(w.msg.Attributes) == 0 {
		return nil, invalidEvent("%w: no optional attributes or extensions, receivers would drop it", ErrUnknownEncoding)
	}
	return w.msg, nil
}

// FromProto decodes msg as sdk-go receivers do: structured mode when contenttype is an
// application/cloudevents format, binary mode otherwise. The event shares msg's data bytes.
func FromProto(msg *pbv1.CloudEvent) (event.Event, error) {
	m, err := newProtoMessage(msg)
	if err != nil {
		return event.Event{}, err
	}
	e, err := binding.ToEvent(context.Background(), m)
	if err != nil {
		return event.Event{}, invalidEvent("%w", err)
	}
	// A structured payload brings its own specversion.
	if v := e.SpecVersion(); v != SpecVersion {
		return event.Event{}, unsupportedSpecVersion(v)
	}
	return *e, nil
}

// protoMessage is a binding.Message reading a pbv1.CloudEvent.
type protoMessage struct {
	msg *pbv1.CloudEvent
	// structured is the event format of a structured message, nil for binary mode.
	structured format.Format
}

var (
	_ binding.Message               = (*protoMessage)(nil)
	_ binding.MessageMetadataReader = (*protoMessage)(nil)
)

func newProtoMessage(msg *pbv1.CloudEvent) (*protoMessage, error) {
	if msg == nil {
		return nil, invalidEvent("nil message")
	}
	if len(msg.GetAttributes()) == 0 {
		return nil, invalidEvent("%w: attributes map is empty", ErrUnknownEncoding)
	}
	if ct := msg.GetAttributes()[AttributeKeyContentType].GetCeString(); format.IsFormat(ct) {
		f := format.Lookup(ct)
		if f == nil || f == format.JSONBatch {
			return nil, invalidEvent("%w: unsupported event format %q", ErrUnknownEncoding, ct)
		}
		return &protoMessage{msg: msg, structured: f}, nil
	}
	if msg.GetSpecVersion() != SpecVersion {
		return nil, unsupportedSpecVersion(msg.GetSpecVersion())
	}
	return &protoMessage{msg: msg}, nil
}

func (m *protoMessage) ReadEncoding() binding.Encoding {
	if m.structured != nil {
		return binding.EncodingStructured
	}
	return binding.EncodingBinary
}

func (m *protoMessage) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.structured == nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, m.structured, bytes.NewReader(m.msg.GetBinaryData()))
}

func (m *protoMessage) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.structured != nil {
		return binding.ErrNotBinary
	}
	fields := [...]struct {
		kind  spec.Kind
		value string
	}{{spec.ID, m.msg.GetId()}, {spec.Source, m.msg.GetSource()}, {spec.Type, m.msg.GetType()}}
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		if err := w.SetAttribute(spec.V1.AttributeFromKind(f.kind), f.value); err != nil {
			return err
		}
	}
	// Sorted so that conflicting keys (e.g. contenttype and ce-datacontenttype) resolve the same way
	// every time.
	attrs := m.msg.GetAttributes()
	for _, key := range slices.Sorted(maps.Keys(attrs)) {
		if err := readAttribute(w, key, attrs[key]); err != nil {
			return err
		}
	}
	// Only binary_data carries data; text_data and proto_data are ignored like sdk-go does.
	if data := m.msg.GetBinaryData(); data != nil {
		return w.SetData(bytes.NewBuffer(data))
	}
	return nil
}

func readAttribute(w binding.MessageMetadataWriter, key string, pbValue *pbv1.CloudEventAttributeValue) error {
	attr, name, ok := attributeForKey(key)
	if !ok {
		return nil // unprefixed keys other than contenttype mean nothing to receivers
	}
	value, err := valueFromProto(pbValue)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidAttribute, key, err)
	}
	if attr == nil {
		err = w.SetExtension(name, value)
	} else if value, err = specAttributeValue(attr, value); err == nil {
		err = w.SetAttribute(attr, value)
	}
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidAttribute, key, err)
	}
	return nil
}

// attributeForKey maps a wire key to a spec attribute (attr != nil) or an extension name.
func attributeForKey(key string) (attr spec.Attribute, extension string, ok bool) {
	if key == AttributeKeyContentType {
		return spec.V1.AttributeFromKind(spec.DataContentType), "", true
	}
	if len(key) <= len(AttributeKeyPrefix) || !strings.EqualFold(key[:len(AttributeKeyPrefix)], AttributeKeyPrefix) {
		return nil, "", false
	}
	name := strings.ToLower(key[len(AttributeKeyPrefix):])
	if a := spec.V1.Attribute(name); a != nil {
		return a, "", true
	}
	return nil, name, true
}

// specAttributeValue adapts a wire value to what sdk-go's attribute setters accept: they take
// strings only, but dataschema travels as ce_uri.
func specAttributeValue(attr spec.Attribute, value any) (any, error) {
	if attr.Kind() == spec.Time {
		return value, nil
	}
	switch v := value.(type) {
	case string:
		return v, nil
	case types.URI:
		return v.String(), nil
	case types.URIRef:
		return v.String(), nil
	}
	return nil, fmt.Errorf("%s must be a string, got %T", attr.Name(), value)
}

func valueFromProto(v *pbv1.CloudEventAttributeValue) (any, error) {
	switch a := v.GetAttr().(type) {
	case *pbv1.CloudEventAttributeValue_CeBoolean:
		return a.CeBoolean, nil
	case *pbv1.CloudEventAttributeValue_CeInteger:
		return a.CeInteger, nil
	case *pbv1.CloudEventAttributeValue_CeString:
		return a.CeString, nil
	case *pbv1.CloudEventAttributeValue_CeBytes:
		return a.CeBytes, nil
	case *pbv1.CloudEventAttributeValue_CeUri:
		u, err := url.Parse(a.CeUri)
		if err != nil {
			return nil, err
		}
		return types.URI{URL: *u}, nil
	case *pbv1.CloudEventAttributeValue_CeUriRef:
		u, err := url.Parse(a.CeUriRef)
		if err != nil {
			return nil, err
		}
		return types.URIRef{URL: *u}, nil
	case *pbv1.CloudEventAttributeValue_CeTimestamp:
		if err := a.CeTimestamp.CheckValid(); err != nil {
			return nil, err
		}
		return types.Timestamp{Time: a.CeTimestamp.AsTime()}, nil
	}
	return nil, errors.New("no value")
}

func (m *protoMessage) GetAttribute(kind spec.Kind) (spec.Attribute, any) {
	attr := spec.V1.AttributeFromKind(kind)
	switch kind {
	case spec.ID:
		return attr, nonEmpty(m.msg.GetId())
	case spec.Source:
		return attr, nonEmpty(m.msg.GetSource())
	case spec.SpecVersion:
		return attr, nonEmpty(m.msg.GetSpecVersion())
	case spec.Type:
		return attr, nonEmpty(m.msg.GetType())
	case spec.DataContentType:
		return attr, m.attributeValue(AttributeKeyContentType)
	}
	return attr, m.attributeValue(AttributeKeyPrefix + kind.String())
}

func (m *protoMessage) GetExtension(name string) any {
	return m.attributeValue(AttributeKeyPrefix + name)
}

func (m *protoMessage) attributeValue(key string) any {
	pbValue, ok := m.msg.GetAttributes()[key]
	if !ok {
		return nil
	}
	v, err := valueFromProto(pbValue)
	if err != nil {
		return nil
	}
	return v
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (m *protoMessage) Finish(error) error { return nil }

// protoWriter is a binding.BinaryWriter building a pbv1.CloudEvent.
type protoWriter struct {
	msg *pbv1.CloudEvent
}

var _ binding.BinaryWriter = (*protoWriter)(nil)

func (w *protoWriter) Start(context.Context) error { return nil }
func (w *protoWriter) End(context.Context) error   { return nil }

func (w *protoWriter) SetAttribute(attr spec.Attribute, value any) error {
	switch attr.Kind() {
	case spec.ID, spec.Source, spec.SpecVersion, spec.Type:
		return w.setField(attr, value)
	case spec.DataContentType:
		return w.setString(AttributeKeyContentType, attr, value)
	case spec.DataSchema:
		s, err := types.ToString(value)
		if err != nil {
			return fmt.Errorf("%w %q: %w", ErrInvalidAttribute, attr.Name(), err)
		}
		w.msg.Attributes[AttributeKeyPrefix+attr.Name()] = &pbv1.CloudEventAttributeValue{
			Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: s},
		}
		return nil
	}
	return w.SetExtension(attr.Name(), value)
}

func (w *protoWriter) setField(attr spec.Attribute, value any) error {
	s, err := types.ToString(value)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidAttribute, attr.Name(), err)
	}
	switch attr.Kind() {
	case spec.ID:
		w.msg.Id = s
	case spec.Source:
		w.msg.Source = s
	case spec.SpecVersion:
		w.msg.SpecVersion = s
	case spec.Type:
		w.msg.Type = s
	}
	return nil
}

func (w *protoWriter) setString(key string, attr spec.Attribute, value any) error {
	s, err := types.ToString(value)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidAttribute, attr.Name(), err)
	}
	w.msg.Attributes[key] = &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeString{CeString: s}}
	return nil
}

func (w *protoWriter) SetExtension(name string, value any) error {
	v, err := valueToProto(value)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidAttribute, name, err)
	}
	w.msg.Attributes[AttributeKeyPrefix+strings.ToLower(name)] = v
	return nil
}

func (w *protoWriter) SetData(r io.Reader) error {
	if b, ok := r.(*bytes.Buffer); ok {
		w.msg.Data = &pbv1.CloudEvent_BinaryData{BinaryData: b.Bytes()}
		return nil
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	w.msg.Data = &pbv1.CloudEvent_BinaryData{BinaryData: data}
	return nil
}

// valueToProto types a value the way sdk-go does: after CloudEvents validation every integer and
// float becomes int32 (out of range is an error) and time becomes a timestamp.
func valueToProto(value any) (*pbv1.CloudEventAttributeValue, error) {
	v, err := types.Validate(value)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case bool:
		return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeBoolean{CeBoolean: v}}, nil
	case int32:
		return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeInteger{CeInteger: v}}, nil
	case string:
		return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeString{CeString: v}}, nil
	case []byte:
		return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeBytes{CeBytes: v}}, nil
	case types.URI:
		return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: v.String()}}, nil
	case types.URIRef:
		return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeUriRef{CeUriRef: v.String()}}, nil
	case types.Timestamp:
		ts := timestamppb.New(v.Time)
		if err := ts.CheckValid(); err != nil {
			return nil, err
		}
		return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeTimestamp{CeTimestamp: ts}}, nil
	}
	return nil, fmt.Errorf("%T has no wire form", v)
}
