package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
	"github.com/cloudevents-conductor/conductor/pkg/dbservice/maestrotest"
	"github.com/cloudevents-conductor/conductor/test/agent"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// converge is how long the system gets to reach a state after a change or a fault. Agents
// reconnect with a 200 ms initial backoff in the stack, so this is generous.
const converge = 60 * time.Second

func startKlusterlet(t *testing.T, cluster string) *agent.Klusterlet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	defer cancel()
	k, err := hub.StartKlusterlet(ctx, cluster)
	if err != nil {
		t.Fatalf("klusterlet %s did not join: %v", cluster, err)
	}
	t.Cleanup(k.Stop)
	waitConsumer(t, cluster)
	return k
}

// waitConsumer waits for the consumer-controller to give the cluster a Maestro consumer, which
// Maestro resources of that cluster need (foreign key).
func waitConsumer(t *testing.T, cluster string) {
	t.Helper()
	testenv.Eventually(t, converge, func() (bool, error) {
		var n int
		err := hub.MaestroDB.QueryRow(context.Background(), `SELECT count(*) FROM consumers WHERE name = $1`, cluster).Scan(&n)
		return n == 1, err
	})
}

func configMap(name string) workv1.Manifest {
	raw, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"data":     map[string]any{"k": "v"},
	})
	return workv1.Manifest{RawExtension: runtime.RawExtension{Raw: raw}}
}

func createWork(t *testing.T, cluster, name string, manifests ...workv1.Manifest) *workv1.ManifestWork {
	t.Helper()
	w := &workv1.ManifestWork{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cluster},
		Spec:       workv1.ManifestWorkSpec{Workload: workv1.ManifestsTemplate{Manifests: manifests}},
	}
	if err := hub.Kube.Client.Create(context.Background(), w); err != nil {
		t.Fatalf("creating ManifestWork %s/%s: %v", cluster, name, err)
	}
	return w
}

// waitAgentWork waits until the agent holds the work at the given generation.
func waitAgentWork(t *testing.T, k *agent.Klusterlet, id string, generation int64) agent.Work {
	t.Helper()
	var got agent.Work
	testenv.Eventually(t, converge, func() (bool, error) {
		w, ok := k.Work.Work(id)
		got = w
		return ok && w.Generation == generation && !w.Deleting, nil
	})
	return got
}

// waitHubWorkApplied waits until the hub ManifestWork reports Applied for its current generation.
func waitHubWorkApplied(t *testing.T, w *workv1.ManifestWork) {
	t.Helper()
	testenv.Eventually(t, converge, func() (bool, error) {
		got := &workv1.ManifestWork{}
		if err := hub.Kube.Client.Get(context.Background(), client.ObjectKeyFromObject(w), got); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, workv1.WorkApplied)
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == got.Generation, nil
	})
}

func waitHubWorkGone(t *testing.T, w *workv1.ManifestWork) {
	t.Helper()
	testenv.Eventually(t, converge, func() (bool, error) {
		err := hub.Kube.Client.Get(context.Background(), client.ObjectKeyFromObject(w), &workv1.ManifestWork{})
		return err != nil && client.IgnoreNotFound(err) == nil, client.IgnoreNotFound(err)
	})
}

func maestro() *maestrotest.Maestro { return maestrotest.New(hub.MaestroDB) }

// maestroBundle is a resource bundle deploying one ConfigMap, as a Maestro source would send it.
func maestroBundle(cluster, configMapName string) maestrotest.Bundle {
	return maestrotest.Bundle{
		Source: "e2e-source", Consumer: cluster,
		Manifests: []map[string]any{{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": configMapName, "namespace": "default"},
		}},
	}
}

func createMaestroResource(t *testing.T, cluster, configMapName string) string {
	t.Helper()
	id, _, err := maestro().CreateResource(context.Background(), maestroBundle(cluster, configMapName))
	if err != nil {
		t.Fatalf("creating a Maestro resource: %v", err)
	}
	return id
}

// waitMaestroStatus waits until the db-service stored the agent's status for the version.
func waitMaestroStatus(t *testing.T, id string, version int64) {
	t.Helper()
	testenv.Eventually(t, converge, func() (bool, error) {
		// ->> gives the text of a number or a string alike; Maestro accepts both forms.
		var rv *string
		err := hub.MaestroDB.QueryRow(context.Background(), `SELECT status->>'resourceversion' FROM resources WHERE id = $1`, id).Scan(&rv)
		if err != nil {
			return false, nil // not written yet
		}
		return rv != nil && *rv == strconv.FormatInt(version, 10), nil
	})
}

func waitMaestroRowGone(t *testing.T, id string) {
	t.Helper()
	testenv.Eventually(t, converge, func() (bool, error) {
		var n int
		err := hub.MaestroDB.QueryRow(context.Background(), `SELECT count(*) FROM resources WHERE id = $1`, id).Scan(&n)
		return n == 0, err
	})
}

func statusEventCount(t *testing.T, id, kind string) int {
	t.Helper()
	var n int
	err := hub.MaestroDB.QueryRow(context.Background(),
		`SELECT count(*) FROM status_events WHERE resource_id = $1 AND status_event_type = $2`, id, kind).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listenStatusEvents collects the payloads of NOTIFY status_events, as every Maestro server
// LISTENs for them.
func listenStatusEvents(t *testing.T) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, hub.MaestroDSN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN status_events"); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			out <- n.Payload
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Close(context.Background())
	})
	return out
}

func waitNotification(t *testing.T, notifications <-chan string, payload string) {
	t.Helper()
	deadline := time.After(converge)
	for {
		select {
		case got := <-notifications:
			if got == payload {
				return
			}
		case <-deadline:
			t.Fatalf("no NOTIFY status_events %s", payload)
		}
	}
}
