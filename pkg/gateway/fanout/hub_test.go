package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/fanout"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

var (
	works, _    = cloudevents.Lookup(cloudevents.ManifestBundlesDataType)
	clusters, _ = cloudevents.Lookup(cloudevents.ManagedClustersDataType)
)

// fixture is a hub on a real NATS server plus a second connection playing the backends.
type fixture struct {
	server  *testenv.NATSServer
	hubConn *nats.Conn
	backend *nats.Conn
	hub     *fanout.Hub
}

func newFixture(t *testing.T, opts fanout.Options) *fixture {
	t.Helper()
	srv := testenv.NATS(t)
	f := &fixture{server: srv, hubConn: connect(t, srv), backend: connect(t, srv)}
	f.hub = fanout.NewHub(f.hubConn, opts)
	return f
}

func connect(t *testing.T, srv *testenv.NATSServer) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func (f *fixture) subscribe(t *testing.T, cluster string, reg cloudevents.Registration) *fanout.Subscriber {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.hub.Subscribe(ctx, cluster, reg)
	if err != nil {
		t.Fatalf("subscribe %s/%s: %v", cluster, reg.Key, err)
	}
	t.Cleanup(s.Close)
	return s
}

// push publishes evt as a backend does.
func (f *fixture) push(t *testing.T, cluster string, reg cloudevents.Registration, evt event.Event) {
	t.Helper()
	subject, err := bus.PushSubject(cluster, reg.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(f.backend, subject, evt); err != nil {
		t.Fatal(err)
	}
}

// workEvent is a ManifestBundle spec push as work-service builds it; every call has a fresh id
// and time, like pushes of the same state from two replicas.
func workEvent(t *testing.T, cluster, resourceID string, generation int64, deleted bool) event.Event {
	t.Helper()
	evt := event.New()
	evt.SetID(uuid.NewString())
	evt.SetSource("kube")
	evt.SetTime(time.Now())
	evt.SetType(cloudevents.EventType{DataType: works.DataType, Subresource: cloudevents.SubresourceSpec,
		Action: cloudevents.ActionUpdateRequest}.String())
	cloudevents.SetClusterName(&evt, cluster)
	cloudevents.SetResourceID(&evt, resourceID)
	cloudevents.SetOriginalSource(&evt, "")
	if err := cloudevents.SetResourceVersionInt(&evt, generation); err != nil {
		t.Fatal(err)
	}
	if deleted {
		cloudevents.SetDeletionTimestamp(&evt, time.Now())
		return evt
	}
	if err := evt.SetData(event.ApplicationJSON, map[string]any{"manifests": []any{map[string]any{"generation": generation}}}); err != nil {
		t.Fatal(err)
	}
	return evt
}

func clusterEvent(t *testing.T, cluster string, resourceVersion int) event.Event {
	t.Helper()
	evt := event.New()
	evt.SetID(uuid.NewString())
	evt.SetSource("kube")
	evt.SetType(cloudevents.EventType{DataType: clusters.DataType, Subresource: cloudevents.SubresourceSpec,
		Action: cloudevents.ActionUpdateRequest}.String())
	cloudevents.SetClusterName(&evt, cluster)
	cloudevents.SetResourceID(&evt, "uid-"+cluster)
	cloudevents.SetResourceVersionString(&evt, strconv.Itoa(resourceVersion))
	if err := evt.SetData(event.ApplicationJSON, map[string]any{"metadata": map[string]any{"name": cluster}}); err != nil {
		t.Fatal(err)
	}
	return evt
}

// next waits for the next queued event.
func next(t *testing.T, s *fanout.Subscriber) *pbv1.CloudEvent {
	t.Helper()
	select {
	case msg := <-s.Events():
		return msg
	case <-s.Done():
		t.Fatalf("subscriber ended: %v", s.Err())
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return nil
}

// expectNone checks that nothing more is queued after a marker event went through the same
// subject, which proves anything pushed before the marker was already dropped.
func expectNothingBefore(t *testing.T, s *fanout.Subscriber, markerID string) {
	t.Helper()
	if msg := next(t, s); msg.GetId() != markerID {
		t.Fatalf("got event %s (type %s), want only the marker %s", msg.GetId(), msg.GetType(), markerID)
	}
}

func resourceVersion(msg *pbv1.CloudEvent) string {
	v := msg.GetAttributes()["ce-resourceversion"]
	if v == nil {
		return ""
	}
	if _, ok := v.GetAttr().(*pbv1.CloudEventAttributeValue_CeInteger); ok {
		return strconv.Itoa(int(v.GetCeInteger()))
	}
	return v.GetCeString()
}

func TestSubscriberGetsOnlyItsClusterAndDataType(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	s := f.subscribe(t, "cluster1", works)
	f.push(t, "cluster2", works, workEvent(t, "cluster2", "w-other-cluster", 1, false))
	f.push(t, "cluster1", clusters, clusterEvent(t, "cluster1", 7))
	mine := workEvent(t, "cluster1", "w1", 1, false)
	f.push(t, "cluster1", works, mine)
	got := next(t, s)
	if got.GetId() != mine.ID() {
		t.Fatalf("got event %s, want %s", got.GetId(), mine.ID())
	}
	if got.GetAttributes()["ce-clustername"].GetCeString() != "cluster1" || resourceVersion(got) != "1" {
		t.Fatalf("event not in agent wire form: %v", got)
	}
}

func TestClusterNamesWithDotsStayApart(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	dotted := f.subscribe(t, "prod.eu", works)
	plain := f.subscribe(t, "prod", works)
	evt := workEvent(t, "prod.eu", "w1", 1, false)
	f.push(t, "prod.eu", works, evt)
	if got := next(t, dotted); got.GetId() != evt.ID() {
		t.Fatalf("got %s", got.GetId())
	}
	marker := workEvent(t, "prod", "marker", 1, false)
	f.push(t, "prod", works, marker)
	expectNothingBefore(t, plain, marker.ID())
}

func TestEventForAnotherClusterOnTheSubjectIsDropped(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	s := f.subscribe(t, "cluster1", works)
	f.push(t, "cluster1", works, workEvent(t, "intruder", "w1", 1, false))
	marker := workEvent(t, "cluster1", "marker", 1, false)
	f.push(t, "cluster1", works, marker)
	expectNothingBefore(t, s, marker.ID())
}

func TestSamePushTwiceReachesTheSubscriberOnceAndOlderNeverAfterNewer(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	s := f.subscribe(t, "cluster1", works)
	// Two work-service replicas push generation 2, then a slow one still pushes generation 1.
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 2, false))
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 2, false))
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 1, false))
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 3, false))
	for _, want := range []string{"2", "3"} {
		if got := resourceVersion(next(t, s)); got != want {
			t.Fatalf("got generation %s, want %s", got, want)
		}
	}
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 3, true))
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 3, true))
	if got := next(t, s); got.GetAttributes()["ce-deletiontimestamp"] == nil {
		t.Fatalf("want the deletion, got %v", got)
	}
	marker := workEvent(t, "cluster1", "marker", 1, false)
	f.push(t, "cluster1", works, marker)
	expectNothingBefore(t, s, marker.ID())
}

func TestEachStreamFiltersDuplicatesOnItsOwn(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	first := f.subscribe(t, "cluster1", works)
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 1, false))
	next(t, first)
	// A stream opened later (the agent reconnected) gets the same state again.
	second := f.subscribe(t, "cluster1", works)
	f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", 1, false))
	if got := resourceVersion(next(t, second)); got != "1" {
		t.Fatalf("second stream got generation %s", got)
	}
}

func TestOneNATSSubscriptionPerClusterAndDataType(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	base := f.hubConn.NumSubscriptions()
	serverBase := f.server.Server().NumSubscriptions()
	a := f.subscribe(t, "cluster1", works)
	b := f.subscribe(t, "cluster1", works)
	c := f.subscribe(t, "cluster1", clusters)
	if got := f.hubConn.NumSubscriptions() - base; got != 2 {
		t.Fatalf("%d NATS subscriptions for two (cluster, data type) pairs", got)
	}
	if got := f.server.Server().NumSubscriptions() - serverBase; got != 2 {
		t.Fatalf("server holds %d subscriptions of the hub, want 2", got)
	}
	evt := workEvent(t, "cluster1", "w1", 1, false)
	f.push(t, "cluster1", works, evt)
	for _, s := range []*fanout.Subscriber{a, b} {
		if got := next(t, s); got.GetId() != evt.ID() {
			t.Fatalf("got %s", got.GetId())
		}
	}
	a.Close()
	if f.hub.Topics() != 2 {
		t.Fatalf("closing one of two subscribers dropped the topic")
	}
	b.Close()
	c.Close()
	if f.hub.Topics() != 0 || f.hubConn.NumSubscriptions() != base {
		t.Fatalf("after the last Close: %d topics, %d NATS subscriptions", f.hub.Topics(), f.hubConn.NumSubscriptions()-base)
	}
	testenv.Eventually(t, 5*time.Second, func() (bool, error) {
		return f.server.Server().NumSubscriptions() == serverBase, nil
	})
}

func TestSubscribeReturnsOnlyOnceTheServerHasTheSubscription(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	for i := range 20 {
		cluster := fmt.Sprintf("fresh-%d", i)
		s := f.subscribe(t, cluster, works)
		evt := workEvent(t, cluster, "w1", 1, false)
		f.push(t, cluster, works, evt) // published at once from another connection
		if got := next(t, s); got.GetId() != evt.ID() {
			t.Fatalf("got %s", got.GetId())
		}
	}
}

func TestSlowSubscriberIsEndedWhileOthersKeepReceiving(t *testing.T) {
	f := newFixture(t, fanout.Options{QueueSize: 4})
	slow := f.subscribe(t, "cluster1", works)
	fast := f.subscribe(t, "cluster1", works)
	for gen := int64(1); gen <= 20; gen++ {
		f.push(t, "cluster1", works, workEvent(t, "cluster1", "w1", gen, false))
		if got := resourceVersion(next(t, fast)); got != strconv.Itoa(int(gen)) {
			t.Fatalf("fast subscriber got generation %s, want %d", got, gen)
		}
	}
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow subscriber not ended")
	}
	if !errors.Is(slow.Err(), fanout.ErrSlowSubscriber) {
		t.Fatalf("slow subscriber ended with %v", slow.Err())
	}
}

func TestConnectionLostEndsSubscribers(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	s := f.subscribe(t, "cluster1", works)
	f.hub.ConnectionLost()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber not ended")
	}
	if !errors.Is(s.Err(), fanout.ErrEventsLost) {
		t.Fatalf("ended with %v", s.Err())
	}
	// New subscriptions work again afterwards.
	again := f.subscribe(t, "cluster1", works)
	evt := workEvent(t, "cluster1", "w1", 1, false)
	f.push(t, "cluster1", works, evt)
	if got := next(t, again); got.GetId() != evt.ID() {
		t.Fatalf("got %s", got.GetId())
	}
}

func TestSubscribeWithoutNATSFails(t *testing.T) {
	f := newFixture(t, fanout.Options{SubscribeTimeout: 500 * time.Millisecond})
	f.server.Shutdown()
	testenv.Eventually(t, 5*time.Second, func() (bool, error) { return !f.hubConn.IsConnected(), nil })
	_, err := f.hub.Subscribe(context.Background(), "cluster1", works)
	if !errors.Is(err, fanout.ErrEventsLost) {
		t.Fatalf("subscribe while disconnected: %v", err)
	}
}

func TestClosedHubRefusesSubscribers(t *testing.T) {
	f := newFixture(t, fanout.Options{})
	s := f.subscribe(t, "cluster1", works)
	f.hub.Close()
	<-s.Done()
	if !errors.Is(s.Err(), fanout.ErrHubClosed) {
		t.Fatalf("ended with %v", s.Err())
	}
	if _, err := f.hub.Subscribe(context.Background(), "cluster1", works); !errors.Is(err, fanout.ErrHubClosed) {
		t.Fatalf("subscribe after close: %v", err)
	}
}
