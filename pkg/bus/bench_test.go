package bus_test

import (
	"context"
	"testing"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
)

// BenchmarkRequestReply measures one gateway -> backend round trip through the binding,
// a real NATS server and Serve.
func BenchmarkRequestReply(b *testing.B) {
	srv := startNATS(b)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- bus.Serve(ctx, connect(b, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService,
			okHandler, bus.ServeOptions{OnReady: func() { close(ready) }})
	}()
	<-ready
	b.Cleanup(func() { cancel(); <-done })

	client := connect(b, srv)
	subject := requestSubject(b, "cluster1", "manifestbundles")
	evt := manifestBundleStatus(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			reply, err := bus.SendRequest(context.Background(), client, subject, evt, agentIdentity)
			if err != nil || !reply.OK() {
				b.Errorf("reply %+v, err %v", reply, err)
				return
			}
		}
	})
}

// BenchmarkBinding measures encoding and decoding one work status event.
func BenchmarkBinding(b *testing.B) {
	evt := manifestBundleStatus(b)
	b.ReportAllocs()
	for b.Loop() {
		msg, err := bus.EventToMsg("conductor.req.kube.cluster1.manifestbundles", evt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bus.EventFromMsg(msg); err != nil {
			b.Fatal(err)
		}
	}
}
