package gateway_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
)

// TestClientKeepalivePingsAreAllowed runs agents with keepalive enabled at the shortest interval
// grpc-go clients allow (10 s), one with a stream and one idle. A server with gRPC's default
// enforcement counts a strike from the second ping on and answers the fourth (at about 40 s) with
// GOAWAY too_many_pings, dropping both connections.
func TestClientKeepalivePingsAreAllowed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for four keepalive pings (50 s)")
	}
	t.Parallel() // mostly waiting
	tb := newTestbed(t)
	gw := tb.startGateway(gateway.Options{HeartbeatInterval: time.Hour})
	dial := func() *grpc.ClientConn {
		conn, err := grpc.NewClient(gw.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		conn.Connect()
		return conn
	}
	streaming, idle := dial(), dial()
	s := subscribe(t, pbv1.NewCloudEventServiceClient(streaming), subscription("cluster1", cloudevents.LeasesDataType))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	for !idle.WaitForStateChange(ctx, connectivity.Idle) || idle.GetState() == connectivity.Connecting {
		if ctx.Err() != nil {
			t.Fatal("idle connection never became ready")
		}
	}
	if st := idle.GetState(); st != connectivity.Ready {
		t.Fatalf("idle connection is %v", st)
	}
	if idle.WaitForStateChange(ctx, connectivity.Ready) {
		t.Fatalf("idle connection left READY (%v): the server refused its keepalive pings", idle.GetState())
	}
	select {
	case err := <-s.err:
		t.Fatalf("stream ended: %v", err)
	default:
	}
}
