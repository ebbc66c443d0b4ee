package gateway_test

import (
	"context"
	"testing"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
)

// BenchmarkPublish measures Publish of a real work-agent status update through a gateway to a
// trivial NATS responder: gRPC decode, validation, routing, NATS request and reply (plaintext, no
// authentication; with it, cached decisions add no API calls).
func BenchmarkPublish(b *testing.B) {
	tb := newTestbed(b)
	tb.respond(bus.BackendKube, nil)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	req := loadPublish(b, "agent-work-status-update-kube")
	ctx := context.Background()
	if _, err := c.Publish(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Publish(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Publish(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
