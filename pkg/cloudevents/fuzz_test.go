package cloudevents

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// FuzzDecodeProto feeds arbitrary bytes through the gateway's decode path. It must never panic, and
// whatever decodes and re-encodes must decode again.
func FuzzDecodeProto(f *testing.F) {
	for _, g := range loadGolden(f) {
		if msg := g.event(); msg != nil {
			b, err := proto.Marshal(msg)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	// Shapes the recordings lack: structured mode and every attribute value type.
	structured := binaryMessage(map[string]*pbv1.CloudEventAttributeValue{"contenttype": str("application/cloudevents+json")})
	structured.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","x":1}`)}
	allTypes := binaryMessage(map[string]*pbv1.CloudEventAttributeValue{
		"ce-b": {Attr: &pbv1.CloudEventAttributeValue_CeBoolean{CeBoolean: true}},
		"ce-i": integer(-1),
		"ce-y": {Attr: &pbv1.CloudEventAttributeValue_CeBytes{CeBytes: []byte{0xff}}},
		"ce-u": {Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: "https://h/p?q#f"}},
		"ce-r": {Attr: &pbv1.CloudEventAttributeValue_CeUriRef{CeUriRef: "p"}},
		"ce-t": timestamp(testTime),
	})
	for _, m := range []*pbv1.CloudEvent{structured, allTypes} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var msg pbv1.CloudEvent
		if err := proto.Unmarshal(b, &msg); err != nil {
			return
		}
		e, err := FromProto(&msg)
		if err != nil {
			return
		}
		out, err := ToProto(e)
		if err != nil {
			return // e.g. no source: decodable, but not sendable
		}
		if _, err := FromProto(out); err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%v", err, out)
		}
	})
}
