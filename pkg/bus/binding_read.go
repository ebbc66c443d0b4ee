package bus

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// prefixedSpecs resolves "ce-<attribute>" header names to spec attributes.
var prefixedSpecs = spec.WithPrefix(HeaderPrefix)

// EventFromMsg decodes a NATS message (binary mode, or structured mode with a
// application/cloudevents content type) into a validated event.
func EventFromMsg(msg *nats.Msg) (*event.Event, error) {
	m, err := NewMessage(msg)
	if err != nil {
		return nil, err
	}
	evt, err := binding.ToEvent(context.Background(), m)
	if err != nil {
		return nil, fmt.Errorf("bus: decode event: %w", err)
	}
	if err := evt.Validate(); err != nil {
		return nil, fmt.Errorf("bus: invalid event: %w", err)
	}
	return evt, nil
}

// Message is a binding.Message over a received *nats.Msg. It can be read several times.
type Message struct {
	msg      *nats.Msg
	encoding binding.Encoding
	// headers holds the CloudEvents headers by lower-case name, values already unescaped.
	headers  map[string]string
	extTypes map[string]string
	version  spec.Version
}

var (
	_ binding.Message               = (*Message)(nil)
	_ binding.MessageMetadataReader = (*Message)(nil)
)

// NewMessage inspects msg's headers. Header names are matched case-insensitively (some NATS
// clients canonicalise them). A message with neither a ce-specversion header nor a
// structured content type has binding.EncodingUnknown and cannot be read.
func NewMessage(msg *nats.Msg) (*Message, error) {
	m := &Message{msg: msg, encoding: binding.EncodingUnknown}
	if err := m.indexHeaders(); err != nil {
		return nil, err
	}
	if sv, ok := m.headers[prefixedSpecs.PrefixedSpecVersionName()]; ok {
		m.version = prefixedSpecs.Version(sv)
		if m.version == nil {
			return nil, fmt.Errorf("bus: unknown specversion %q", sv)
		}
		m.encoding = binding.EncodingBinary
		return m, m.parseExtensionTypes()
	}
	if format.IsFormat(m.headers[HeaderContentType]) {
		m.encoding = binding.EncodingStructured
	}
	return m, nil
}

// indexHeaders collects the ce- and content-type headers, undoing HeaderEscaped.
func (m *Message) indexHeaders() error {
	escaped := map[string]bool{}
	raw := map[string]string{}
	for key, values := range m.msg.Header {
		lower := strings.ToLower(key)
		if lower == HeaderEscaped || lower == HeaderExtensionTypes {
			if len(values) != 1 {
				return fmt.Errorf("bus: header %s must have one value", key)
			}
			raw[lower] = values[0]
			continue
		}
		if lower != HeaderContentType && !strings.HasPrefix(lower, HeaderPrefix) {
			continue
		}
		if _, dup := raw[lower]; dup || len(values) != 1 {
			return fmt.Errorf("bus: header %s must have one value", key)
		}
		raw[lower] = values[0]
	}
	for _, name := range splitList(raw[HeaderEscaped]) {
		escaped[name] = true
	}
	delete(raw, HeaderEscaped)
	m.extTypes = map[string]string{}
	for _, item := range splitList(raw[HeaderExtensionTypes]) {
		name, typeName, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("bus: header %s: malformed item %q", HeaderExtensionTypes, item)
		}
		m.extTypes[name] = typeName
	}
	delete(raw, HeaderExtensionTypes)
	m.headers = make(map[string]string, len(raw))
	for key, value := range raw {
		if escaped[attributeName(key)] {
			unescaped, err := url.PathUnescape(value)
			if err != nil {
				return fmt.Errorf("bus: header %s: %w", key, err)
			}
			value = unescaped
		}
		m.headers[key] = value
	}
	return nil
}

// parseExtensionTypes checks that every typed extension names a known type.
func (m *Message) parseExtensionTypes() error {
	for name, typeName := range m.extTypes {
		if !knownType(typeName) {
			return fmt.Errorf("bus: extension %s: unknown type %q", name, typeName)
		}
	}
	return nil
}

// ReadEncoding implements binding.MessageReader.
func (m *Message) ReadEncoding() binding.Encoding { return m.encoding }

// ReadStructured implements binding.MessageReader.
func (m *Message) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.encoding != binding.EncodingStructured {
		return binding.ErrNotStructured
	}
	f := format.Lookup(m.headers[HeaderContentType])
	if f == nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, f, bytes.NewReader(m.msg.Data))
}

// ReadBinary implements binding.MessageReader. specversion goes first, because the event
// builder picks the context version from it.
func (m *Message) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.encoding != binding.EncodingBinary {
		return binding.ErrNotBinary
	}
	keys := make([]string, 0, len(m.headers))
	for key := range m.headers {
		keys = append(keys, key)
	}
	specVersionKey := prefixedSpecs.PrefixedSpecVersionName()
	slices.SortFunc(keys, func(a, b string) int {
		if (a == specVersionKey) != (b == specVersionKey) {
			if a == specVersionKey {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, key := range keys {
		if err := m.writeHeader(w, key); err != nil {
			return err
		}
	}
	if len(m.msg.Data) > 0 {
		return w.SetData(bytes.NewReader(m.msg.Data))
	}
	return nil
}

func (m *Message) writeHeader(w binding.BinaryWriter, key string) error {
	value := m.headers[key]
	if attr := m.attribute(key); attr != nil {
		return w.SetAttribute(attr, value)
	}
	name := attributeName(key)
	typed, err := parseTyped(m.extTypes[name], value)
	if err != nil {
		return fmt.Errorf("bus: extension %s: %w", name, err)
	}
	return w.SetExtension(name, typed)
}

func (m *Message) attribute(key string) spec.Attribute {
	if key == HeaderContentType {
		return m.version.AttributeFromKind(spec.DataContentType)
	}
	return m.version.Attribute(key)
}

// GetAttribute implements binding.MessageMetadataReader.
func (m *Message) GetAttribute(kind spec.Kind) (spec.Attribute, any) {
	if m.version == nil {
		return nil, nil
	}
	attr := m.version.AttributeFromKind(kind)
	if attr == nil {
		return nil, nil
	}
	key := HeaderPrefix + attr.Name()
	if kind == spec.DataContentType {
		key = HeaderContentType
	}
	if value, ok := m.headers[key]; ok {
		return attr, value
	}
	return attr, nil
}

// GetExtension implements binding.MessageMetadataReader; values carry their restored type.
func (m *Message) GetExtension(name string) any {
	value, ok := m.headers[HeaderPrefix+name]
	if !ok || m.attribute(HeaderPrefix+name) != nil {
		return nil
	}
	typed, err := parseTyped(m.extTypes[name], value)
	if err != nil {
		return nil
	}
	return typed
}

// Finish implements binding.Message; a NATS message holds no resources.
func (m *Message) Finish(error) error { return nil }

// attributeName maps a header name to the CloudEvents attribute or extension name.
func attributeName(key string) string {
	if key == HeaderContentType {
		return "datacontenttype"
	}
	return strings.TrimPrefix(key, HeaderPrefix)
}

func knownType(typeName string) bool {
	switch typeName {
	case typeBoolean, typeInteger, typeString, typeBinary, typeURI, typeURIRef, typeTimestamp:
		return true
	}
	return false
}

// parseTyped turns a canonical string back into the Go value sdk-go uses for typeName;
// an extension absent from HeaderExtensionTypes ("") is a String.
func parseTyped(typeName, value string) (any, error) {
	switch typeName {
	case "", typeString:
		return value, nil
	case typeBoolean:
		return types.ParseBool(value)
	case typeInteger:
		return types.ParseInteger(value)
	case typeBinary:
		return types.ParseBinary(value)
	case typeURI:
		u, err := url.Parse(value)
		if err != nil {
			return nil, err
		}
		return types.URI{URL: *u}, nil
	case typeURIRef:
		u, err := url.Parse(value)
		if err != nil {
			return nil, err
		}
		return types.URIRef{URL: *u}, nil
	case typeTimestamp:
		t, err := types.ParseTime(value)
		if err != nil {
			return nil, err
		}
		return types.Timestamp{Time: t}, nil
	}
	return nil, fmt.Errorf("unknown CloudEvents type %q", typeName)
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
