package consumer_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/apis/crds"
	"github.com/cloudevents-conductor/conductor/pkg/consumer"
	"github.com/cloudevents-conductor/conductor/pkg/maestro"
	"github.com/cloudevents-conductor/conductor/pkg/maestro/devserver"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

const timeout = 30 * time.Second

var (
	pg   testenv.SharedPostgres
	kube testenv.SharedKube
)

func TestMain(m *testing.M) {
	// Shown only for failing runs or -v: go test keeps passing packages' output to itself.
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ourCRDs, err := crds.CRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kube.Options = testenv.KubeOptions{
		CRDs:        ourCRDs,
		AddToScheme: []func(*runtime.Scheme) error{clusterv1.AddToScheme},
	}
	os.Exit(testenv.Run(m, &pg, &kube))
}

// maestroServer is the Maestro stand-in on a real database, on an address that survives
// Stop/Start so tests can take "Maestro" down and bring it back.
type maestroServer struct {
	t      *testing.T
	addr   string
	pool   *pgxpool.Pool
	srv    *devserver.Server
	mu     sync.Mutex
	server *http.Server
	posts  int // consumer creations attempted, to see what the controller retries
	// clusters the test created; removed after the test's managers stopped.
	clusters []string
}

func startMaestro(t *testing.T) *maestroServer {
	t.Helper()
	pool := pg.NewDatabase(t).Pool(t)
	srv, err := devserver.New(devserver.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	m := &maestroServer{t: t, pool: pool, srv: srv}
	// Registered before any manager starts, so it runs after they stopped: clusters left
	// with our finalizer would otherwise stay in the shared control plane for ever.
	t.Cleanup(func() {
		for _, name := range m.clusters {
			removeCluster(t, name)
		}
	})
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

func (m *maestroServer) URL() string { return "http://" + m.addr }

func (m *maestroServer) Start() {
	m.t.Helper()
	addr := m.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		m.t.Fatalf("maestro stand-in: %v", err)
	}
	m.addr = l.Addr().String()
	server := &http.Server{Handler: http.HandlerFunc(m.serve), ReadHeaderTimeout: 5 * time.Second}
	m.mu.Lock()
	m.server = server
	m.mu.Unlock()
	go func() { _ = server.Serve(l) }()
}

func (m *maestroServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		m.mu.Lock()
		m.posts++
		m.mu.Unlock()
	}
	m.srv.ServeHTTP(w, r)
}

// Stop closes the listener and every connection: clients get "connection refused".
func (m *maestroServer) Stop() {
	m.mu.Lock()
	server := m.server
	m.server = nil
	m.mu.Unlock()
	if server != nil {
		_ = server.Close()
	}
}

func (m *maestroServer) Posts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.posts
}

// consumerLabels returns the labels of the consumer row called name, and whether it exists.
func (m *maestroServer) consumerLabels(name string) (map[string]string, bool) {
	m.t.Helper()
	c, err := m.client().FindByName(context.Background(), name)
	if maestro.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		m.t.Fatalf("looking up consumer %s: %v", name, err)
	}
	return c.Labels, true
}

func (m *maestroServer) consumerNames() []string {
	m.t.Helper()
	rows, err := m.pool.Query(context.Background(), "SELECT name FROM consumers ORDER BY name")
	if err != nil {
		m.t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			m.t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func (m *maestroServer) client() *maestro.Client {
	c, err := maestro.New(maestro.Options{BaseURL: m.URL(), Timeout: 5 * time.Second})
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

// insertResource makes a resource bundle of consumer, which blocks deleting the consumer.
func (m *maestroServer) insertResource(consumerName string) string {
	m.t.Helper()
	id := uuid.NewString()
	if _, err := m.pool.Exec(context.Background(), `INSERT INTO resources
		(id, name, created_at, updated_at, source, consumer_name, version, type, payload, status)
		VALUES ($1, $1, now(), now(), 'grpc', $2, 1, '', '{}', 'null')`, id, consumerName); err != nil {
		m.t.Fatalf("inserting a resource for %s: %v", consumerName, err)
	}
	return id
}

func (m *maestroServer) deleteResource(id string) {
	m.t.Helper()
	if _, err := m.pool.Exec(context.Background(), "DELETE FROM resources WHERE id = $1", id); err != nil {
		m.t.Fatal(err)
	}
}

// controllerOptions are fast enough for tests: backoff from 50 ms to 1 s.
func controllerOptions(m *maestroServer, registry prometheus.Registerer, prefixes ...string) consumer.ManagerOptions {
	restMetrics, metrics := maestro.NewMetrics(), consumer.NewMetrics()
	registry.MustRegister(restMetrics, metrics)
	client, err := maestro.New(maestro.Options{BaseURL: m.URL(), Timeout: 2 * time.Second, Metrics: restMetrics})
	if err != nil {
		m.t.Fatal(err)
	}
	return consumer.ManagerOptions{
		Controller: consumer.Options{
			Maestro:            client,
			Metrics:            metrics,
			Labels:             consumer.LabelFilter{Prefixes: prefixes},
			BaseDelay:          50 * time.Millisecond,
			MaxDelay:           time.Second,
			SkipNameValidation: true, // every test runs its own manager in this process
		},
	}
}

// runningManager is a started manager; Stop cancels it and waits for Start to return.
type runningManager struct {
	manager.Manager
	Stop func() error
}

// runManager starts a manager and stops it when the test ends.
func runManager(t *testing.T, opts consumer.ManagerOptions) *runningManager {
	t.Helper()
	mgr, err := consumer.NewManager(kube.Env(t).Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(logr.NewContext(context.Background(), ctrl.Log.WithName(t.Name())))
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return &runningManager{Manager: mgr, Stop: stop}
}

// startController runs the controller against a fresh Maestro stand-in.
func startController(t *testing.T, prefixes ...string) (*maestroServer, *prometheus.Registry) {
	t.Helper()
	m := startMaestro(t)
	registry := prometheus.NewRegistry()
	runManager(t, controllerOptions(m, registry, prefixes...))
	return m, registry
}

// clusterName makes a cluster-scoped name private to this test, as the control plane is shared.
func clusterName(t *testing.T, base string) string {
	return base + "-" + strings.ToLower(uuid.NewString()[:8])
}

type clusterState struct {
	accepted bool
	joined   metav1.ConditionStatus // "" for no Joined condition
	labels   map[string]string
}

// createCluster creates a ManagedCluster as registration would leave it. It is deleted (without
// our finalizer, which no controller is left to remove) when the test ends.
func createCluster(t *testing.T, m *maestroServer, name string, state clusterState) {
	t.Helper()
	c := kube.Env(t).Client
	cluster := &clusterv1.ManagedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: state.labels},
		Spec:       clusterv1.ManagedClusterSpec{HubAcceptsClient: state.accepted},
	}
	if err := c.Create(t.Context(), cluster); err != nil {
		t.Fatalf("creating cluster %s: %v", name, err)
	}
	m.clusters = append(m.clusters, name)
	if state.joined != "" {
		setJoined(t, name, state.joined)
	}
}

func removeCluster(t *testing.T, name string) {
	c := kube.Env(t).Client
	ctx := context.Background()
	cluster := &clusterv1.ManagedCluster{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, cluster); err != nil {
		return
	}
	if len(cluster.Finalizers) > 0 {
		patch := client.MergeFrom(cluster.DeepCopy())
		cluster.Finalizers = nil
		if err := c.Patch(ctx, cluster, patch); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("removing finalizers of %s: %v", name, err)
		}
	}
	if err := c.Delete(ctx, cluster); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting cluster %s: %v", name, err)
	}
}

func setJoined(t *testing.T, name string, status metav1.ConditionStatus) {
	t.Helper()
	updateCluster(t, name, func(cluster *clusterv1.ManagedCluster) bool {
		meta.SetStatusCondition(&cluster.Status.Conditions, metav1.Condition{
			Type: clusterv1.ManagedClusterConditionJoined, Status: status,
			Reason: "ManagedClusterJoined", Message: "Managed cluster joined",
		})
		return true
	})
}

// updateCluster applies change and writes the cluster back (status when change returns true),
// retrying on conflicts with the controller's own writes.
func updateCluster(t *testing.T, name string, change func(*clusterv1.ManagedCluster) (status bool)) {
	t.Helper()
	c := kube.Env(t).Client
	testenv.Eventually(t, timeout, func() (bool, error) {
		cluster := getCluster(t, name)
		var err error
		if change(cluster) {
			err = c.Status().Update(t.Context(), cluster)
		} else {
			err = c.Update(t.Context(), cluster)
		}
		return err == nil, err
	})
}

func getCluster(t *testing.T, name string) *clusterv1.ManagedCluster {
	t.Helper()
	cluster := &clusterv1.ManagedCluster{}
	if err := kube.Env(t).Client.Get(t.Context(), client.ObjectKey{Name: name}, cluster); err != nil {
		t.Fatalf("getting cluster %s: %v", name, err)
	}
	return cluster
}

func deleteCluster(t *testing.T, name string) {
	t.Helper()
	cluster := &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := kube.Env(t).Client.Delete(t.Context(), cluster); err != nil {
		t.Fatalf("deleting cluster %s: %v", name, err)
	}
}

func clusterGone(t *testing.T, name string) (bool, error) {
	err := kube.Env(t).Client.Get(t.Context(), client.ObjectKey{Name: name}, &clusterv1.ManagedCluster{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

// awaitConsumer waits until the consumer called name exists with exactly labels.
func awaitConsumer(t *testing.T, m *maestroServer, name string, labels map[string]string) {
	t.Helper()
	testenv.Eventually(t, timeout, func() (bool, error) {
		got, ok := m.consumerLabels(name)
		if !ok {
			return false, fmt.Errorf("no consumer %s", name)
		}
		if len(got) != len(labels) || !maps.Equal(got, labels) {
			return false, fmt.Errorf("consumer %s has labels %v, want %v", name, got, labels)
		}
		return true, nil
	})
}

// awaitCondition waits for the MaestroConsumerSynced condition with status and reason.
func awaitCondition(t *testing.T, name string, status metav1.ConditionStatus, reason string) *metav1.Condition {
	t.Helper()
	var found *metav1.Condition
	testenv.Eventually(t, timeout, func() (bool, error) {
		found = meta.FindStatusCondition(getCluster(t, name).Status.Conditions, consumer.ConditionConsumerSynced)
		if found == nil || found.Status != status || found.Reason != reason {
			return false, fmt.Errorf("condition %s is %+v", consumer.ConditionConsumerSynced, found)
		}
		return true, nil
	})
	return found
}

// awaitEvent waits for an Event about cluster name with the reason, and returns its note.
func awaitEvent(t *testing.T, name, eventType, reason string) string {
	t.Helper()
	var note string
	testenv.Eventually(t, timeout, func() (bool, error) {
		list := &eventsv1.EventList{}
		if err := kube.Env(t).Client.List(t.Context(), list, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return false, err
		}
		i := slices.IndexFunc(list.Items, func(e eventsv1.Event) bool {
			return e.Regarding.Name == name && e.Regarding.Kind == clusterv1.ManagedClusterKind &&
				e.Type == eventType && e.Reason == reason
		})
		if i < 0 {
			return false, fmt.Errorf("no %s event %s about %s", eventType, reason, name)
		}
		note = list.Items[i].Note
		return true, nil
	})
	return note
}

// counter reads a counter from registry; labels pick one series of a vector.
func counter(t *testing.T, registry *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := registry.Gather()
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
			if maps.Equal(got, labels) || len(labels) == 0 && len(got) == 0 {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func reconciles(t *testing.T, registry *prometheus.Registry, result string) float64 {
	return counter(t, registry, "conductor_consumer_reconciles_total", map[string]string{"result": result})
}

func hasFinalizer(t *testing.T, name string) bool {
	return slices.Contains(getCluster(t, name).Finalizers, consumer.Finalizer)
}
