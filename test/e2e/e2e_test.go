package e2e

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/test/agent"
	"github.com/cloudevents-conductor/conductor/test/stack"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

func TestClusterJoinsOverGRPC(t *testing.T) {
	startKlusterlet(t, "e2e-join")
	ctx := context.Background()

	// The agent reported Joined and Available through the gateway and work-service.
	testenv.Eventually(t, converge, func() (bool, error) {
		c := &clusterv1.ManagedCluster{}
		if err := hub.Kube.Client.Get(ctx, client.ObjectKey{Name: "e2e-join"}, c); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(c.Status.Conditions, clusterv1.ManagedClusterConditionJoined) &&
			meta.IsStatusConditionTrue(c.Status.Conditions, clusterv1.ManagedClusterConditionAvailable), nil
	})

	// The lease is kept fresh: its renewTime keeps moving forward.
	renewTime := func() time.Time {
		l := &coordinationv1.Lease{}
		if err := hub.Kube.Client.Get(ctx, client.ObjectKey{Namespace: "e2e-join", Name: agent.LeaseName}, l); err != nil || l.Spec.RenewTime == nil {
			return time.Time{}
		}
		return l.Spec.RenewTime.Time
	}
	var first time.Time
	testenv.Eventually(t, converge, func() (bool, error) { first = renewTime(); return !first.IsZero(), nil })
	testenv.Eventually(t, converge, func() (bool, error) { return renewTime().After(first), nil })
}

func TestKubeManifestWorkLifecycle(t *testing.T) {
	k := startKlusterlet(t, "e2e-kube")
	ctx := context.Background()
	w := createWork(t, "e2e-kube", "w1", configMap("cm1"))
	waitAgentWork(t, k, string(w.UID), 1)
	waitHubWorkApplied(t, w)

	// An update reaches the agent as a new generation and its status comes back.
	if err := hub.Kube.Client.Get(ctx, client.ObjectKeyFromObject(w), w); err != nil {
		t.Fatal(err)
	}
	w.Spec.Workload.Manifests = append(w.Spec.Workload.Manifests, configMap("cm2"))
	if err := hub.Kube.Client.Update(ctx, w); err != nil {
		t.Fatal(err)
	}
	got := waitAgentWork(t, k, string(w.UID), 2)
	if len(got.Manifests) != 2 {
		t.Errorf("agent has %d manifests after the update, want 2", len(got.Manifests))
	}
	waitHubWorkApplied(t, w)

	// A delete is held by the cleanup finalizer until the agent confirms, then the work is gone.
	if err := hub.Kube.Client.Delete(ctx, w); err != nil {
		t.Fatal(err)
	}
	waitHubWorkGone(t, w)
	testenv.Eventually(t, converge, func() (bool, error) { _, ok := k.Work.Work(string(w.UID)); return !ok, nil })
}

func TestMaestroResourceLifecycle(t *testing.T) {
	k := startKlusterlet(t, "e2e-maestro")
	notifications := listenStatusEvents(t)
	id := createMaestroResource(t, "e2e-maestro", "from-maestro")
	got := waitAgentWork(t, k, id, 1)
	if got.Source != "maestro" {
		t.Errorf("spec event source %q, want maestro", got.Source)
	}
	waitMaestroStatus(t, id, 1)
	// Maestro's status controller learns of the write from NOTIFY status_events <row id>.
	var updateID string
	if err := hub.MaestroDB.QueryRow(context.Background(),
		`SELECT id FROM status_events WHERE resource_id = $1 AND status_event_type = 'StatusUpdate' ORDER BY created_at LIMIT 1`, id).Scan(&updateID); err != nil {
		t.Fatalf("no StatusUpdate row for an accepted status: %v", err)
	}
	waitNotification(t, notifications, updateID)

	if _, err := maestro().DeleteResource(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	waitMaestroRowGone(t, id)
	if n := statusEventCount(t, id, "StatusDelete"); n != 1 {
		t.Errorf("%d StatusDelete rows, want 1", n)
	}
}

// TestGatewayRestartResyncKeepsBothSources: after a gateway crash the agents reconnect and resync,
// and the resync deletes neither source's works.
func TestGatewayRestartResyncKeepsBothSources(t *testing.T) {
	k := startKlusterlet(t, "e2e-both")
	kubeWork := createWork(t, "e2e-both", "kube-work", configMap("kube-cm"))
	maestroID := createMaestroResource(t, "e2e-both", "maestro-cm")
	waitAgentWork(t, k, string(kubeWork.UID), 1)
	waitAgentWork(t, k, maestroID, 1)

	restart(t, hub.Gateway)

	// A work created after the restart arrives, so the stream is back and the resync is done.
	after := createWork(t, "e2e-both", "after-restart", configMap("after-cm"))
	waitAgentWork(t, k, string(after.UID), 1)
	for _, id := range []string{string(kubeWork.UID), maestroID} {
		if w, ok := k.Work.Work(id); !ok || w.Deleting {
			t.Errorf("work %s was deleted by the resync after the gateway restart", id)
		}
	}
}

// TestAgentCatchesUpAfterBeingOffline: changes made while the agent cannot reach the hub are
// delivered by the resync when it is back.
func TestAgentCatchesUpAfterBeingOffline(t *testing.T) {
	k := startKlusterlet(t, "e2e-offline")
	w := createWork(t, "e2e-offline", "w", configMap("cm"))
	waitAgentWork(t, k, string(w.UID), 1)

	if err := hub.Gateway.Kill(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := hub.Kube.Client.Get(ctx, client.ObjectKeyFromObject(w), w); err != nil {
		t.Fatal(err)
	}
	w.Spec.Workload.Manifests = append(w.Spec.Workload.Manifests, configMap("cm-offline"))
	if err := hub.Kube.Client.Update(ctx, w); err != nil {
		t.Fatal(err)
	}
	maestroID := createMaestroResource(t, "e2e-offline", "maestro-offline")
	start(t, hub.Gateway)

	waitAgentWork(t, k, string(w.UID), 2)
	waitAgentWork(t, k, maestroID, 1)
}

func TestWorkServiceReplicaDown(t *testing.T) {
	k := startKlusterlet(t, "e2e-ws")
	if err := hub.WorkServices[0].Kill(); err != nil {
		t.Fatal(err)
	}
	defer start(t, hub.WorkServices[0])
	w := createWork(t, "e2e-ws", "w", configMap("cm"))
	waitAgentWork(t, k, string(w.UID), 1)
	waitHubWorkApplied(t, w)
}

func TestDBServiceRestartDeliversWhatWasWrittenMeanwhile(t *testing.T) {
	k := startKlusterlet(t, "e2e-db")
	for _, p := range hub.DBServices {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	id := createMaestroResource(t, "e2e-db", "while-down")
	for _, p := range hub.DBServices {
		start(t, p)
	}
	waitAgentWork(t, k, id, 1)
	waitMaestroStatus(t, id, 1)
}

func TestNATSOutage(t *testing.T) {
	k := startKlusterlet(t, "e2e-nats")
	hub.StopNATS()
	w := createWork(t, "e2e-nats", "during-outage", configMap("cm"))
	if err := hub.StartNATS(); err != nil {
		t.Fatal(err)
	}
	// The informer change was pushed while NATS was down; the streams ended, the agent resynced.
	waitAgentWork(t, k, string(w.UID), 1)
	waitHubWorkApplied(t, w)
	for _, p := range hub.Processes() {
		waitReady(t, p)
	}
}

func TestPostgresRestart(t *testing.T) {
	k := startKlusterlet(t, "e2e-pg")
	hub.Postgres.Restart(t)
	id := createMaestroResourceEventually(t, "e2e-pg", "after-pg-restart")
	waitAgentWork(t, k, id, 1)
	waitMaestroStatus(t, id, 1)
}

// createMaestroResourceEventually retries while the pool reconnects after a PostgreSQL restart.
func createMaestroResourceEventually(t *testing.T, cluster, name string) string {
	t.Helper()
	var id string
	testenv.Eventually(t, converge, func() (bool, error) {
		var err error
		id, _, err = maestro().CreateResource(context.Background(), maestroBundle(cluster, name))
		return err == nil, nil
	})
	return id
}

func restart(t *testing.T, p *stack.Process) {
	t.Helper()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	start(t, p)
}

func start(t *testing.T, p *stack.Process) {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
}

func waitReady(t *testing.T, p *stack.Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}
