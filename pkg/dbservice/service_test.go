package dbservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

const waitTimeout = 20 * time.Second

// runningService is a Service running against a test database and NATS server.
type runningService struct {
	svc  *Service
	reg  *prometheus.Registry
	stop func()
}

func startService(t testing.TB, e *dbEnv, natsURL string, tweak func(*Options)) *runningService {
	t.Helper()
	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts := Options{
		Pool:       e.db.Pool(t), // a pool of its own, as a separate replica would have
		NATS:       nc,
		ScanPeriod: time.Hour, // tests control when scans happen
		Registerer: reg,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	stopService := testenv.Background(t, "db-service", svc.Run)
	stop := func() { stopService(); nc.Close() }
	t.Cleanup(stop)
	return &runningService{svc: svc, reg: reg, stop: stop}
}

// pushRecorder receives what db-services push to agents.
type pushRecorder struct {
	nc  *nats.Conn
	sub *nats.Subscription
}

func recordPushes(t *testing.T, natsURL string) *pushRecorder {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync("conductor.push.*.manifestbundles")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &pushRecorder{nc: nc, sub: sub}
}

func (p *pushRecorder) next(t *testing.T) (string, cloudevents.Event) {
	t.Helper()
	msg, err := p.sub.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("no spec event pushed: %v", err)
	}
	evt, err := bus.EventFromMsg(msg)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Subject, *evt
}

// expectNoMore proves nothing else was pushed before now. Each push is confirmed by its
// publisher (a NATS flush) before the events row is marked reconciled, and the server delivers in
// order, so after a round trip on our connection every such push is already queued here.
func (p *pushRecorder) expectNoMore(t *testing.T) {
	t.Helper()
	if err := p.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := p.sub.Pending(); n != 0 {
		_, evt := p.next(t)
		t.Fatalf("unexpected push: %s for %v", evt.Type(), evt.Extensions()["resourceid"])
	}
}

func waitReconciled(t *testing.T, e *dbEnv, eventIDs ...string) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		var pending int
		err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE id = ANY($1) AND reconciled_date IS NULL`,
			eventIDs).Scan(&pending)
		return pending == 0, err
	})
}

func TestSpecEventsForCreateUpdateDelete(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	running := startService(t, e, natsSrv.ClientURL(), nil)
	ctx := t.Context()

	if _, err := e.maestro.CreateConsumer(ctx, "cluster1"); err != nil {
		t.Fatal(err)
	}
	bundle := testBundle(uuid.NewString(), "cluster1")
	id, createEvent, err := e.maestro.CreateResource(ctx, bundle)
	if err != nil {
		t.Fatal(err)
	}
	subject, evt := pushes.next(t)
	if subject != "conductor.push.cluster1.manifestbundles" {
		t.Errorf("pushed on %s", subject)
	}
	checkSpecEvent(t, evt, id, ce.ActionCreateRequest, 1, false)
	if got := manifestData(t, evt); got != "value" {
		t.Errorf("manifest data %q", got)
	}
	waitReconciled(t, e, createEvent)

	bundle.Manifests[0]["data"] = map[string]any{"key": "changed"}
	version, updateEvent, err := e.maestro.UpdateResource(ctx, bundle)
	if err != nil || version != 2 {
		t.Fatalf("update: version %d, %v", version, err)
	}
	_, evt = pushes.next(t)
	checkSpecEvent(t, evt, id, ce.ActionUpdateRequest, 2, false)
	if got := manifestData(t, evt); got != "changed" {
		t.Errorf("manifest data %q after update", got)
	}
	waitReconciled(t, e, updateEvent)

	deleteEvent, err := e.maestro.DeleteResource(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, evt = pushes.next(t)
	checkSpecEvent(t, evt, id, ce.ActionDeleteRequest, 2, true)
	res, err := e.store.Resource(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := ce.DeletionTimestamp(evt); err != nil || !ts.Equal(*res.DeletedAt) {
		t.Errorf("deletiontimestamp %v (%v), want deleted_at %v", ts, err, res.DeletedAt)
	}
	waitReconciled(t, e, deleteEvent)
	pushes.expectNoMore(t)

	if got := testutil.ToFloat64(running.svc.metrics.specPushed.WithLabelValues("delete_request")); got != 1 {
		t.Errorf("spec pushed metric for delete_request = %v", got)
	}
	if n := testutil.CollectAndCount(running.svc.metrics.notifyToPush); n != 1 {
		t.Errorf("notify-to-push histogram not exported")
	}
}

// checkSpecEvent asserts the attributes Maestro sets on a spec event (maestro.md §2.3 step 5).
func checkSpecEvent(t *testing.T, evt cloudevents.Event, id string, action ce.Action, version int64, deleting bool) {
	t.Helper()
	if evt.Source() != "maestro" {
		t.Errorf("source %q, want maestro", evt.Source())
	}
	if want := string(ce.ManifestBundlesDataType) + ".spec." + string(action); evt.Type() != want {
		t.Errorf("type %q, want %q", evt.Type(), want)
	}
	if got, _ := ce.ResourceID(evt); got != id {
		t.Errorf("resourceid %q, want %q", got, id)
	}
	if got, _ := ce.ClusterName(evt); got != "cluster1" {
		t.Errorf("clustername %q", got)
	}
	if v, ok := evt.Extensions()[ce.ExtResourceVersion].(int32); !ok || int64(v) != version {
		t.Errorf("resourceversion %#v, want the integer %d", evt.Extensions()[ce.ExtResourceVersion], version)
	}
	if deleting != ce.HasExtension(evt, ce.ExtDeletionTimestamp) {
		t.Errorf("deletiontimestamp present = %v, want %v", !deleting, deleting)
	}
	meta, err := ce.Metadata(evt)
	if err != nil {
		t.Fatalf("metadata extension must be a string: %v", err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(meta), &obj); err != nil || obj["name"] != "demo-work" {
		t.Errorf("metadata %q, want the source's ObjectMeta", meta)
	}
	if _, err := uuid.Parse(evt.ID()); err != nil || evt.Time().IsZero() {
		t.Errorf("want a fresh uuid id and a time, got %q %v", evt.ID(), evt.Time())
	}
}

func manifestData(t *testing.T, evt cloudevents.Event) string {
	t.Helper()
	var bundle struct {
		Manifests []struct {
			Data map[string]string `json:"data"`
		} `json:"manifests"`
	}
	if err := evt.DataAs(&bundle); err != nil || len(bundle.Manifests) != 1 {
		t.Fatalf("spec data: %v (%s)", err, evt.Data())
	}
	return bundle.Manifests[0].Data["key"]
}

func TestCreateOfDeletingResourceIsNotPushed(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	ctx := t.Context()
	// Written while no db-service runs: the start-up scan finds both events.
	id := e.createResource(t, "cluster1")
	if _, err := e.maestro.DeleteResource(ctx, id); err != nil {
		t.Fatal(err)
	}
	ids, err := e.store.UnreconciledEventIDs(ctx)
	if err != nil || len(ids) != 2 {
		t.Fatalf("unreconciled events %v, %v", ids, err)
	}
	startService(t, e, natsSrv.ClientURL(), nil)

	_, evt := pushes.next(t)
	checkSpecEvent(t, evt, id, ce.ActionDeleteRequest, 1, true)
	waitReconciled(t, e, ids...)
	pushes.expectNoMore(t)
}

func TestEventOfHardDeletedResourceIsMarkedReconciled(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	id := e.createResource(t, "cluster1")
	if _, err := e.pool.Exec(t.Context(), `DELETE FROM resources WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	ids, err := e.store.UnreconciledEventIDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	startService(t, e, natsSrv.ClientURL(), nil)
	waitReconciled(t, e, ids...)
	pushes.expectNoMore(t)
}

func TestTwoReplicasDeliverEachEventOnce(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	startService(t, e, natsSrv.ClientURL(), nil)
	startService(t, e, natsSrv.ClientURL(), nil)
	ctx := t.Context()
	if _, err := e.maestro.CreateConsumer(ctx, "cluster1"); err != nil {
		t.Fatal(err)
	}

	const resources = 40
	var eventIDs []string
	want := map[string]bool{}
	for range resources {
		id, eventID, err := e.maestro.CreateResource(ctx, testBundle(uuid.NewString(), "cluster1"))
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
		eventIDs = append(eventIDs, eventID)
	}
	got := map[string]int{}
	for range resources {
		_, evt := pushes.next(t)
		id, _ := ce.ResourceID(evt)
		got[id]++
	}
	waitReconciled(t, e, eventIDs...)
	pushes.expectNoMore(t)
	for id := range want {
		if got[id] != 1 {
			t.Errorf("resource %s pushed %d times, want once", id, got[id])
		}
	}
}

func TestNotifyLostWhileListenerDownIsDeliveredAfterReconnect(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	running := startService(t, e, natsSrv.ClientURL(), nil)
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return testutil.ToFloat64(running.svc.metrics.scans) >= 1, nil // start-up scan done
	})
	ctx := t.Context()

	// An events row whose NOTIFY never reached the listener (sent while it was disconnected):
	// with the periodic scan an hour away, only the scan after a reconnect can find it.
	id := e.createResourceWithoutNotify(t, "cluster1")
	var terminated int
	if err := e.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, ListenerApplicationName).Scan(&terminated); err != nil {
		t.Fatal(err)
	}
	if terminated != 1 {
		t.Fatalf("want exactly one listener connection, found %d", terminated)
	}

	_, evt := pushes.next(t)
	checkSpecEvent(t, evt, id, ce.ActionCreateRequest, 1, false)
	if got := testutil.ToFloat64(running.svc.metrics.listenerReconnects); got != 1 {
		t.Errorf("listener reconnects metric = %v, want 1", got)
	}
}

// createResourceWithoutNotify writes a resource and its Create event as Maestro does, minus the
// NOTIFY.
func (e *dbEnv) createResourceWithoutNotify(t *testing.T, consumer string) string {
	t.Helper()
	ctx := t.Context()
	if _, err := e.maestro.CreateConsumer(ctx, consumer); err != nil {
		t.Fatal(err)
	}
	bundle := testBundle(uuid.NewString(), consumer)
	payload, err := json.Marshal(bundle.Payload("create_request"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO resources (name, id, created_at, updated_at, source, consumer_name,
		version, type, payload, status) VALUES ($1, $1, now(), now(), $2, $3, 1, '', $4, 'null')`,
		bundle.ID, bundle.Source, consumer, payload); err != nil {
		t.Fatal(err)
	}
	if _, err := e.maestro.InsertEvent(ctx, bundle.ID, "Create"); err != nil {
		t.Fatal(err)
	}
	return bundle.ID
}

func TestSurvivesPostgresRestart(t *testing.T) {
	cluster := testenv.StartPostgres(t, testenv.PostgresOptions{Local: true})
	e := newDBEnvOn(t, cluster.NewDatabase(t))
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	running := startService(t, e, natsSrv.ClientURL(), nil)
	ctx := t.Context()

	before := e.createResource(t, "cluster1")
	_, evt := pushes.next(t)
	checkSpecEvent(t, evt, before, ce.ActionCreateRequest, 1, false)
	// Otherwise a restart between the push and the commit of reconciled_date would (rightly)
	// push it again: delivery is at least once.
	ids, err := e.store.UnreconciledEventIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitReconciled(t, e, ids...)

	cluster.Restart(t)

	// Written the moment the server is back, typically before the listener has reconnected, so
	// its NOTIFY is lost: the scan after the reconnect must deliver it.
	var after string
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		var err error
		after, _, err = e.maestro.CreateResource(ctx, testBundle(uuid.NewString(), "cluster1"))
		return err == nil, err
	})
	_, evt = pushes.next(t)
	checkSpecEvent(t, evt, after, ce.ActionCreateRequest, 1, false)
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return testutil.ToFloat64(running.svc.metrics.listenerReconnects) >= 1, nil
	})

	// Status writes work again without restarting the service.
	nc := connectNATS(t, natsSrv.ClientURL())
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		reply, err := sendStatus(t, nc, agentStatus(t, after, "cluster1", 1, seqAt(0)))
		if err != nil {
			return false, err
		}
		return reply.OK(), reply.Err()
	})
	if got := readStatusAsMaestro(t, e.pool, after).SequenceID; got != seqAt(0) {
		t.Errorf("status after restart not stored: %s", got)
	}
	if err := running.svc.Ready(ctx); err != nil {
		t.Errorf("not ready after the restart: %v", err)
	}
}

func connectNATS(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func sendStatus(t testing.TB, nc *nats.Conn, evt cloudevents.Event) (bus.Reply, error) {
	t.Helper()
	cluster, _ := ce.ClusterName(evt)
	return sendRequest(t, nc, cluster, evt)
}

func sendRequest(t testing.TB, nc *nats.Conn, cluster string, evt cloudevents.Event) (bus.Reply, error) {
	t.Helper()
	subject, err := bus.RequestSubject(bus.BackendMaestro, cluster, "manifestbundles")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return bus.SendRequest(ctx, nc, subject, evt, bus.Identity{User: "system:open-cluster-management:" + cluster})
}

// waitServing waits until some db-service answers requests.
func waitServing(t testing.TB, nc *nats.Conn) {
	t.Helper()
	probe := cloudevents.NewEvent()
	probe.SetID(uuid.NewString())
	probe.SetSource("probe")
	probe.SetType("io.open-cluster-management.works.v1alpha1.manifestbundles.status.delete_request")
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		_, err := sendRequest(t, nc, "cluster1", probe)
		return !errors.Is(err, bus.ErrUnavailable), err
	})
}

func TestBusStatusRequests(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	running := startService(t, e, natsSrv.ClientURL(), nil)
	nc := connectNATS(t, natsSrv.ClientURL())
	waitServing(t, nc)
	id := e.createResource(t, "cluster1")
	e.createResource(t, "cluster2")

	reply, err := sendStatus(t, nc, agentStatus(t, id, "cluster1", 1, seqAt(0)))
	if err != nil || !reply.OK() {
		t.Fatalf("status update: %v %v", err, reply.Err())
	}
	if got := readStatusAsMaestro(t, e.pool, id).SequenceID; got != seqAt(0) {
		t.Errorf("stored sequence %s: the OK must come after the commit", got)
	}

	// An agent reporting another consumer's resource gets an error status.
	reply, err = sendStatus(t, nc, agentStatus(t, id, "cluster2", 1, seqAt(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if st := bus.StatusFromReply(reply); st == nil || st.Code != http.StatusBadRequest || !strings.Contains(st.Message, "unmatched consumer") {
		t.Errorf("wrong consumer: reply %+v", reply)
	}

	// A status for a resource that is gone is acknowledged and ignored.
	reply, err = sendStatus(t, nc, agentStatus(t, uuid.NewString(), "cluster1", 1, seqAt(0)))
	if err != nil || !reply.OK() {
		t.Errorf("missing resource: %v %v", err, reply.Err())
	}

	// A stale status is acknowledged too: the agent must not retry it.
	reply, err = sendStatus(t, nc, agentStatus(t, id, "cluster1", 1, seqAt(-time.Second)))
	if err != nil || !reply.OK() {
		t.Errorf("stale status: %v %v", err, reply.Err())
	}

	// A request whose event names another cluster than its subject is refused.
	reply, err = sendRequest(t, nc, "cluster2", agentStatus(t, id, "cluster1", 1, seqAt(time.Hour)))
	if err != nil || reply.OK() {
		t.Errorf("subject/clustername mismatch: %v %+v", err, reply)
	}

	for result, want := range map[string]float64{"accepted": 1, "stale": 1, "missing": 1, "error": 1} {
		if got := testutil.ToFloat64(running.svc.metrics.statusWrites.WithLabelValues(result)); got != want {
			t.Errorf("status writes %s = %v, want %v", result, got, want)
		}
	}
}

func TestBusResync(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	startService(t, e, natsSrv.ClientURL(), nil)
	nc := connectNATS(t, natsSrv.ClientURL())
	waitServing(t, nc)
	ctx := t.Context()

	current := e.createResource(t, "cluster1")  // agent has version 1: nothing to send
	outdated := e.createResource(t, "cluster1") // agent has version 1, Maestro 2: send
	bundle := testBundle(outdated, "cluster1")
	bundle.Manifests[0]["data"] = map[string]any{"key": "v2"}
	if _, _, err := e.maestro.UpdateResource(ctx, bundle); err != nil {
		t.Fatal(err)
	}
	unknownToAgent := e.createResource(t, "cluster1") // agent lacks it: send
	deleting := e.createResource(t, "cluster1")       // deleting: always send
	if _, err := e.maestro.DeleteResource(ctx, deleting); err != nil {
		t.Fatal(err)
	}
	otherCluster := e.createResource(t, "cluster2")
	// Let the service push the events of these writes first, so only resync pushes remain.
	ids, err := e.store.UnreconciledEventIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitReconciled(t, e, ids...)
	drainPushes(t, pushes)

	notOurs := uuid.NewString() // a kube work, or one Maestro deleted while the agent was away
	req := cloudevents.NewEvent()
	req.SetID(uuid.NewString())
	req.SetSource("cluster1-work-agent")
	req.SetType(string(ce.ManifestBundlesDataType) + ".spec.resync_request")
	ce.SetClusterName(&req, "cluster1")
	ce.SetOriginalSource(&req, "")
	if err := req.SetData("application/json", ce.ResourceVersionList{ResourceVersions: []ce.ResourceVersionEntry{
		{ResourceID: current, ResourceVersion: 1},
		{ResourceID: outdated, ResourceVersion: 1},
		{ResourceID: deleting, ResourceVersion: 1},
		{ResourceID: notOurs, ResourceVersion: 3},
		{ResourceID: otherCluster, ResourceVersion: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	reply, err := sendRequest(t, nc, "cluster1", req)
	if err != nil || !reply.OK() {
		t.Fatalf("resync: %v %v", err, reply.Err())
	}
	if fmt.Sprint(reply.OwnedResourceIDs) != fmt.Sprint([]string{current, outdated, deleting}) {
		t.Errorf("owned ids %v, want [%s %s %s]", reply.OwnedResourceIDs, current, outdated, deleting)
	}

	pushed := map[string]cloudevents.Event{}
	for range 3 {
		subject, evt := pushes.next(t)
		if subject != "conductor.push.cluster1.manifestbundles" {
			t.Errorf("resync pushed on %s", subject)
		}
		id, _ := ce.ResourceID(evt)
		pushed[id] = evt
	}
	pushes.expectNoMore(t)
	checkSpecEvent(t, pushed[outdated], outdated, ce.ActionResyncResponse, 2, false)
	checkSpecEvent(t, pushed[unknownToAgent], unknownToAgent, ce.ActionResyncResponse, 1, false)
	checkSpecEvent(t, pushed[deleting], deleting, ce.ActionResyncResponse, 1, true)
}

func drainPushes(t *testing.T, p *pushRecorder) {
	t.Helper()
	if err := p.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		if n, _, _ := p.sub.Pending(); n == 0 {
			return
		}
		if _, err := p.sub.NextMsg(time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIdleListenerPingsWithoutReconnecting(t *testing.T) {
	e := newDBEnv(t)
	natsSrv := testenv.NATS(t)
	pushes := recordPushes(t, natsSrv.ClientURL())
	running := startService(t, e, natsSrv.ClientURL(), func(o *Options) { o.ListenerPingInterval = 20 * time.Millisecond })
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return testutil.ToFloat64(running.svc.metrics.scans) >= 1, nil
	})
	// Idle time is the point here: it lets the listener time out and ping several times.
	time.Sleep(300 * time.Millisecond)
	id := e.createResource(t, "cluster1")
	_, evt := pushes.next(t)
	checkSpecEvent(t, evt, id, ce.ActionCreateRequest, 1, false)
	if got := testutil.ToFloat64(running.svc.metrics.listenerReconnects); got != 0 {
		t.Errorf("an idle listener reconnected %v times", got)
	}
	if got := testutil.ToFloat64(running.svc.metrics.scans); got != 1 {
		t.Errorf("the event must come from the NOTIFY, not a scan (scans %v)", got)
	}
}
