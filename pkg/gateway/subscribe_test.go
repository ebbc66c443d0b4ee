package gateway_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
)

func TestSubscribeSendsOneSubscriptionIDHeader(t *testing.T) {
	tb := newTestbed(t)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	for _, name := range []string{"agent-work-subscribe", "agent-cluster-subscribe", "agent-csr-subscribe",
		"agent-lease-subscribe", "agent-addon-subscribe", "agent-tokenrequest-subscribe"} {
		s := subscribe(t, c, loadSubscribe(t, name))
		if ids := s.header.Get(gateway.SubscriptionIDHeader); len(ids) != 1 || ids[0] == "" {
			t.Fatalf("%s: subscription-id header %v, want exactly one value", name, ids)
		}
	}
}

func TestSubscribeRefusesWhatAgentsNeverSend(t *testing.T) {
	tb := newTestbed(t)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	for name, req := range map[string]*pbv1.SubscriptionRequest{
		"no cluster (source subscription)": {Source: "maestro", DataType: string(cloudevents.ManifestBundlesDataType)},
		"bad data type":                    {ClusterName: "cluster1", DataType: "manifestbundles"},
		"unknown data type":                {ClusterName: "cluster1", DataType: "example.com.v1.widgets"},
	} {
		if _, err := openStream(t, c, req); code(err) != codes.InvalidArgument {
			t.Errorf("%s: got %v, want InvalidArgument", name, err)
		}
	}
}

func TestPushedEventsReachOnlyMatchingStreamsOnEveryGateway(t *testing.T) {
	tb := newTestbed(t)
	backend := tb.conn()
	gw1 := tb.startGateway(gateway.Options{})
	gw2 := tb.startGateway(gateway.Options{})
	c1, c2 := tb.client(gw1.addr, nil), tb.client(gw2.addr, nil)

	worksOnGW1 := subscribe(t, c1, subscription("cluster1", cloudevents.ManifestBundlesDataType))
	worksOnGW2 := subscribe(t, c2, subscription("cluster1", cloudevents.ManifestBundlesDataType))
	otherCluster := subscribe(t, c2, subscription("cluster2", cloudevents.ManifestBundlesDataType))
	otherType := subscribe(t, c1, subscription("cluster1", cloudevents.ManagedClustersDataType))

	evt := workPush(t, "cluster1", "w1", 1, false)
	tb.push(backend, "cluster1", "manifestbundles", evt)
	for _, s := range []*stream{worksOnGW1, worksOnGW2} {
		got := s.next(t)
		want, err := cloudevents.ToProto(evt)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("agent got\n%v\nwant\n%v", got, want)
		}
	}
	// Markers prove the cluster1 work event never went to the other streams.
	m2 := workPush(t, "cluster2", "marker", 1, false)
	tb.push(backend, "cluster2", "manifestbundles", m2)
	otherCluster.expectOnly(t, m2.ID())
	mc := clusterPush(t, "cluster1", 10)
	tb.push(backend, "cluster1", "managedclusters", mc)
	otherType.expectOnly(t, mc.ID())
}

func TestSameChangePushedTwiceReachesTheAgentOnce(t *testing.T) {
	tb := newTestbed(t)
	replica1, replica2 := tb.conn(), tb.conn()
	gw := tb.startGateway(gateway.Options{})
	s := subscribe(t, tb.client(gw.addr, nil), subscription("cluster1", cloudevents.ManifestBundlesDataType))

	// Both work-service replicas see generation 2; a lagging one then pushes generation 1.
	tb.push(replica1, "cluster1", "manifestbundles", workPush(t, "cluster1", "w1", 2, false))
	tb.push(replica2, "cluster1", "manifestbundles", workPush(t, "cluster1", "w1", 2, false))
	tb.push(replica2, "cluster1", "manifestbundles", workPush(t, "cluster1", "w1", 1, false))
	tb.push(replica1, "cluster1", "manifestbundles", workPush(t, "cluster1", "w1", 3, false))
	tb.push(replica2, "cluster1", "manifestbundles", workPush(t, "cluster1", "w1", 3, false))
	for _, want := range []int32{2, 3} {
		if got, _ := attrInt(s.next(t), "ce-resourceversion"); got != want {
			t.Fatalf("agent got generation %d, want %d", got, want)
		}
	}
	// Registration types compare resourceVersion numerically.
	cs := subscribe(t, tb.client(gw.addr, nil), subscription("cluster1", cloudevents.ManagedClustersDataType))
	for _, rv := range []int{10, 10, 9, 11} {
		tb.push(replica1, "cluster1", "managedclusters", clusterPush(t, "cluster1", rv))
	}
	for _, want := range []string{"10", "11"} {
		if got := attrString(cs.next(t), "ce-resourceversion"); got != want {
			t.Fatalf("agent got resourceVersion %s, want %s", got, want)
		}
	}
	marker := workPush(t, "cluster1", "marker", 1, false)
	tb.push(replica1, "cluster1", "manifestbundles", marker)
	s.expectOnly(t, marker.ID())
}

func TestHeartbeats(t *testing.T) {
	tb := newTestbed(t)
	gw := tb.startGateway(gateway.Options{HeartbeatInterval: 100 * time.Millisecond})
	s := subscribe(t, tb.client(gw.addr, nil), subscription("cluster1", cloudevents.ManifestBundlesDataType))
	golden := &pbv1.CloudEvent{}
	loadGolden(t, "server-heartbeat", golden)
	for range 3 {
		select {
		case msg := <-s.msgs:
			if msg.GetType() != golden.GetType() || msg.GetSpecVersion() != golden.GetSpecVersion() ||
				msg.GetId() == "" || msg.GetSource() != "" || len(msg.GetAttributes()) != 0 || msg.GetData() != nil {
				t.Fatalf("heartbeat %v differs from what the OCM broker sends (%v)", msg, golden)
			}
		case err := <-s.err:
			t.Fatalf("stream ended: %v", err)
		case <-time.After(waitTimeout):
			t.Fatal("no heartbeat")
		}
	}
}

func TestSlowSubscriberIsDisconnectedWhileAFastOneKeepsReceiving(t *testing.T) {
	tb := newTestbed(t)
	backend := tb.conn()
	gw := tb.startGateway(gateway.Options{QueueSize: 8})
	// The slow agent never reads; a small fixed window makes the server's sends block quickly.
	slowClient := tb.client(gw.addr, nil, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, err := slowClient.Subscribe(ctx, subscription("cluster1", cloudevents.ManifestBundlesDataType))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slow.Header(); err != nil {
		t.Fatal(err)
	}
	fast := subscribe(t, tb.client(gw.addr, nil), subscription("cluster1", cloudevents.ManifestBundlesDataType))

	// Pushed in step with the fast agent, so only the slow one falls behind.
	const events = 400
	padding := strings.Repeat("x", 2<<10)
	for gen := int64(1); gen <= events; gen++ {
		evt := workPush(t, "cluster1", "w"+strconv.Itoa(int(gen)), gen, false)
		setJSON(t, &evt, map[string]any{"manifests": []any{}, "padding": padding})
		tb.push(backend, "cluster1", "manifestbundles", evt)
		if got := fast.next(t); got.GetId() != evt.ID() {
			t.Fatalf("fast agent got %s, want %s", got.GetId(), evt.ID())
		}
	}
	// The slow agent reads what was buffered, then finds its stream ended with Unavailable.
	received := 0
	for {
		_, err := slow.Recv()
		if err != nil {
			if code(err) != codes.Unavailable {
				t.Fatalf("slow stream ended with %v, want Unavailable", err)
			}
			break
		}
		received++
	}
	if received >= events {
		t.Fatalf("slow agent got all %d events; it was never disconnected", received)
	}
}

func TestNATSRestartEndsStreams(t *testing.T) {
	tb := newTestbed(t)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	s := subscribe(t, c, subscription("cluster1", cloudevents.ManifestBundlesDataType))
	tb.nats.Restart(t)
	if st := s.ended(t); st.Code() != codes.Unavailable {
		t.Fatalf("stream ended with %v, want Unavailable", st)
	}
	// Once the gateway has reconnected, a new stream works again.
	backend := tb.conn()
	var again *stream
	for deadline := time.Now().Add(waitTimeout); ; {
		var err error
		if again, err = openStream(t, c, subscription("cluster1", cloudevents.ManifestBundlesDataType)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stream after the NATS restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	evt := workPush(t, "cluster1", "w1", 1, false)
	tb.push(backend, "cluster1", "manifestbundles", evt)
	again.expectOnly(t, evt.ID())
}

func TestShutdownEndsStreamsWithUnavailableAndFinishesInFlightPublishes(t *testing.T) {
	tb := newTestbed(t)
	started := make(chan struct{}, 1)
	tb.respond(bus.BackendKube, func(bus.Request) bus.Reply {
		started <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		return bus.ReplyOK()
	})
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	s := subscribe(t, c, subscription("cluster1", cloudevents.ManifestBundlesDataType))
	published := make(chan error, 1)
	go func() {
		_, err := c.Publish(context.Background(), loadPublish(t, "agent-lease-spec-update-request"))
		published <- err
	}()
	<-started
	if err := gw.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if st := s.ended(t); st.Code() != codes.Unavailable {
		t.Fatalf("stream ended with %v, want Unavailable", st)
	}
	if err := <-published; err != nil {
		t.Fatalf("in-flight publish: %v", err)
	}
}
