package workservice_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/workservice"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

const (
	waitTimeout = 30 * time.Second
	// bootstrapUser is the identity the gateway authenticates for agents that have not joined yet.
	bootstrapUser = "system:serviceaccount:open-cluster-management:agent-registration-bootstrap"
)

// hub is one test's view of the parts: the shared kube-apiserver, its own NATS, a client
// connection standing in for the gateway.
type hub struct {
	env  *testenv.KubeEnv
	nats *testenv.NATSServer
	nc   *nats.Conn // the "gateway" side
}

func newHub(t *testing.T) *hub {
	t.Helper()
	env := kube.Env(t)
	srv := testenv.NATS(t)
	return &hub{env: env, nats: srv, nc: connect(t, srv.ClientURL())}
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// replica is one running work-service.
type replica struct {
	svc      *workservice.Service
	registry *prometheus.Registry
	stop     func()
}

// startReplica runs a work-service until the test ends (or stop is called) and waits until it
// is ready.
func (h *hub) startReplica(t *testing.T) *replica {
	t.Helper()
	nc := connect(t, h.nats.ClientURL())
	reg := prometheus.NewRegistry()
	svc, err := workservice.New(workservice.Options{Kube: h.env.Config, NATS: nc, Registerer: reg, Workers: 8, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	stopService := testenv.Background(t, "work-service", svc.Run)
	stop := func() { stopService(); nc.Close() }
	t.Cleanup(stop)
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		err := svc.Ready(context.Background())
		return err == nil, err
	})
	return &replica{svc: svc, registry: reg, stop: stop}
}

// testLogger sends the service's log to the test log while the test runs.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// namespace creates the hub namespace of a managed cluster.
func (h *hub) namespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := h.env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func (h *hub) create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := h.env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func (h *hub) get(t *testing.T, obj client.Object) {
	t.Helper()
	if err := h.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatalf("reading %T %s: %v", obj, obj.GetName(), err)
	}
}

// request sends evt as the gateway would, for the cluster in its clustername extension.
func (h *hub) request(t *testing.T, key string, evt event.Event, user string) bus.Reply {
	t.Helper()
	cluster, err := ce.ClusterName(evt)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := bus.RequestSubject(bus.BackendKube, cluster, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	reply, err := bus.SendRequest(ctx, h.nc, subject, evt, bus.Identity{User: user, Groups: []string{"system:authenticated"}})
	if err != nil {
		t.Fatalf("request %s: %v", evt.Type(), err)
	}
	return reply
}

// mustOK sends a request that must succeed.
func (h *hub) mustOK(t *testing.T, key string, evt event.Event) bus.Reply {
	t.Helper()
	reply := h.request(t, key, evt, bootstrapUser)
	if err := reply.Err(); err != nil {
		t.Fatalf("%s: %v", evt.Type(), err)
	}
	return reply
}

// wantStatus sends a request that must fail with reason and code.
func (h *hub) wantStatus(t *testing.T, key string, evt event.Event, reason metav1.StatusReason, code int32) {
	t.Helper()
	reply := h.request(t, key, evt, bootstrapUser)
	st := bus.StatusFromReply(reply)
	if st == nil || st.Reason != reason || st.Code != code {
		t.Fatalf("%s: want %s (%d), got %+v", evt.Type(), reason, code, st)
	}
}

// pushes receives one cluster's pushes of one data type.
type pushes struct {
	ch chan *nats.Msg
}

func (h *hub) watch(t *testing.T, cluster, key string) *pushes {
	t.Helper()
	subject, err := bus.PushSubject(cluster, key)
	if err != nil {
		t.Fatal(err)
	}
	p := &pushes{ch: make(chan *nats.Msg, 256)}
	sub, err := h.nc.ChanSubscribe(subject, p.ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return p
}

// next returns the next push, failing the test if none comes.
func (p *pushes) next(t *testing.T) event.Event {
	t.Helper()
	select {
	case msg := <-p.ch:
		evt, err := bus.EventFromMsg(msg)
		if err != nil {
			t.Fatalf("undecodable push on %s: %v", msg.Subject, err)
		}
		return *evt
	case <-time.After(waitTimeout):
		t.Fatal("no push arrived")
		return event.Event{}
	}
}

// until returns the first push that match accepts, skipping the others.
func (p *pushes) until(t *testing.T, match func(event.Event) bool) event.Event {
	t.Helper()
	return p.untilNo(t, match, func(event.Event) bool { return false })
}

// untilNo is until, failing the test if a push that forbidden accepts comes first. A push the
// test causes after an action that must push nothing is the fence that proves nothing came.
func (p *pushes) untilNo(t *testing.T, match, forbidden func(event.Event) bool) event.Event {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case msg := <-p.ch:
			evt, err := bus.EventFromMsg(msg)
			if err != nil {
				t.Fatalf("undecodable push on %s: %v", msg.Subject, err)
			}
			if match(*evt) {
				return *evt
			}
			if forbidden(*evt) {
				t.Fatalf("unexpected push %s (resourceversion %v): %s", evt.Type(),
					evt.Extensions()[ce.ExtResourceVersion], evt.Data())
			}
		case <-deadline:
			t.Fatal("no matching push arrived")
			return event.Event{}
		}
	}
}

// agentEvent builds an event the way sdk-go agents do: source = cluster, clustername set,
// originalsource present and empty, JSON data.
func agentEvent(t *testing.T, dt ce.DataType, sub ce.Subresource, action ce.Action, cluster string, data any) event.Event {
	t.Helper()
	evt := event.New()
	evt.SetID(uuid.NewString())
	evt.SetSource(cluster)
	evt.SetType(ce.EventType{DataType: dt, Subresource: sub, Action: action}.String())
	evt.SetTime(time.Now())
	ce.SetClusterName(&evt, cluster)
	ce.SetOriginalSource(&evt, "")
	if data != nil {
		if err := evt.SetData(event.ApplicationJSON, data); err != nil {
			t.Fatal(err)
		}
	}
	return evt
}

// objectEvent is agentEvent for an object, with resourceid and resourceversion from it.
func objectEvent(t *testing.T, dt ce.DataType, sub ce.Subresource, action ce.Action, cluster string, obj client.Object) event.Event {
	t.Helper()
	evt := agentEvent(t, dt, sub, action, cluster, obj)
	if uid := string(obj.GetUID()); uid != "" {
		ce.SetResourceID(&evt, uid)
	}
	if rv := obj.GetResourceVersion(); rv != "" {
		ce.SetResourceVersionString(&evt, rv)
	}
	return evt
}

func resyncRequest(t *testing.T, dt ce.DataType, cluster string, versions ...ce.ResourceVersionEntry) event.Event {
	t.Helper()
	return agentEvent(t, dt, ce.SubresourceSpec, ce.ActionResyncRequest, cluster, ce.ResourceVersionList{ResourceVersions: versions})
}

// goldenRequest loads an agent event recorded from the real sdk-go clients.
func goldenRequest(t *testing.T, name string) event.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "cloudevents", "testdata", "wire", name+".pb"))
	if err != nil {
		t.Fatal(err)
	}
	req := &pbv1.PublishRequest{}
	if err := proto.Unmarshal(raw, req); err != nil {
		t.Fatal(err)
	}
	evt, err := ce.FromProto(req.GetEvent())
	if err != nil {
		t.Fatal(err)
	}
	return evt
}

// decodeData unmarshals a push's data.
func decodeData(t *testing.T, evt event.Event, into any) {
	t.Helper()
	if err := json.Unmarshal(evt.Data(), into); err != nil {
		t.Fatalf("push data %s: %v", evt.Data(), err)
	}
}

func typeOf(t *testing.T, evt event.Event) ce.EventType {
	t.Helper()
	typ, err := ce.EventTypeOf(evt)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

func isAction(action ce.Action) func(event.Event) bool {
	return func(evt event.Event) bool {
		typ, err := ce.EventTypeOf(evt)
		return err == nil && typ.Action == action
	}
}

func resourceID(t *testing.T, evt event.Event) string {
	t.Helper()
	id, err := ce.ResourceID(evt)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// assertPush checks the attributes every push carries.
func assertPush(t *testing.T, evt event.Event, action ce.Action, cluster, id string) {
	t.Helper()
	if evt.Source() != "kube" {
		t.Errorf("source %q, want kube", evt.Source())
	}
	if got := typeOf(t, evt); got.Action != action || got.Subresource != ce.SubresourceSpec {
		t.Errorf("type %s, want spec.%s", evt.Type(), action)
	}
	if got, _ := ce.ClusterName(evt); got != cluster {
		t.Errorf("clustername %q, want %q", got, cluster)
	}
	if got, err := ce.OriginalSource(evt); err != nil || got != "" {
		t.Errorf("originalsource must be present and empty: %q, %v", got, err)
	}
	if got := resourceID(t, evt); got != id {
		t.Errorf("resourceid %q, want %q", got, id)
	}
	deleting := ce.HasExtension(evt, ce.ExtDeletionTimestamp)
	if deleting && len(evt.Data()) != 0 {
		t.Errorf("a deletion carries no data, got %s", evt.Data())
	}
	if !deleting && len(evt.Data()) == 0 {
		t.Error("a push without deletiontimestamp must carry the object")
	}
}

func decodeEventData(evt event.Event, into any) error {
	return json.Unmarshal(evt.Data(), into)
}

func kubeClientset(t *testing.T, h *hub) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(h.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// metric is the value of the counter or gauge name with exactly these labels (0 if absent).
func (r *replica) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := r.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if maps.Equal(got, labels) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// uniqueName makes the cluster (and object) names of one test run its own, so tests can share
// the kube-apiserver and run repeatedly (-count).
func uniqueName(base string) string {
	return base + "-" + uuid.NewString()[:5]
}
