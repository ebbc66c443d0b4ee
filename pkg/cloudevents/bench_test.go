package cloudevents

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// A typical ManifestWork push (about 2 KiB of data, eight attributes).
func benchmarkMessage(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir, "server-work-spec-create-request.pb"))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkDecode is the gateway's Publish path: wire bytes to event.
func BenchmarkDecode(b *testing.B) {
	raw := benchmarkMessage(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var msg pbv1.CloudEvent
		if err := proto.Unmarshal(raw, &msg); err != nil {
			b.Fatal(err)
		}
		if _, err := FromProto(&msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode is the gateway's Subscribe path: event to wire bytes.
func BenchmarkEncode(b *testing.B) {
	raw := benchmarkMessage(b)
	var msg pbv1.CloudEvent
	if err := proto.Unmarshal(raw, &msg); err != nil {
		b.Fatal(err)
	}
	e, err := FromProto(&msg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := ToProto(e)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := proto.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
}
