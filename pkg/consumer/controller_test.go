package consumer_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/consumer"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

func TestJoinedClusterGetsConsumer(t *testing.T) {
	m, registry := startController(t)
	name := clusterName(t, "joined")
	labels := map[string]string{"env": "dev", "cluster.open-cluster-management.io/clusterset": "default"}
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue, labels: labels})

	awaitConsumer(t, m, name, labels)
	awaitCondition(t, name, metav1.ConditionTrue, consumer.ReasonConsumerSynced)
	awaitEvent(t, name, corev1.EventTypeNormal, consumer.ReasonConsumerCreated)
	if !hasFinalizer(t, name) {
		t.Errorf("cluster %s has no finalizer %s", name, consumer.Finalizer)
	}
	if got := counter(t, registry, "conductor_consumer_consumers_created_total", nil); got != 1 {
		t.Errorf("consumers_created_total = %v, want 1", got)
	}
	if got := counter(t, registry, "conductor_maestro_rest_requests_total", map[string]string{"method": "POST", "code": "201"}); got != 1 {
		t.Errorf("REST POST 201 calls = %v, want 1", got)
	}
}

func TestLabelChangesArePatched(t *testing.T) {
	const prefix = "conductor.example.com/"
	m, registry := startController(t, prefix)
	name := clusterName(t, "labels")
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue,
		labels: map[string]string{prefix + "env": "dev", "other": "ignored"}})
	awaitConsumer(t, m, name, map[string]string{prefix + "env": "dev"})

	updateCluster(t, name, func(c *clusterv1.ManagedCluster) bool {
		c.Labels = map[string]string{prefix + "env": "prod", prefix + "region": "eu", "other": "changed"}
		return false
	})
	awaitConsumer(t, m, name, map[string]string{prefix + "env": "prod", prefix + "region": "eu"})
	awaitEvent(t, name, corev1.EventTypeNormal, consumer.ReasonLabelsUpdated)

	updateCluster(t, name, func(c *clusterv1.ManagedCluster) bool {
		c.Labels = map[string]string{"other": "only"}
		return false
	})
	awaitConsumer(t, m, name, map[string]string{})
	if got := counter(t, registry, "conductor_consumer_consumer_label_updates_total", nil); got != 2 {
		t.Errorf("label updates = %v, want 2", got)
	}
}

func TestClustersNotAcceptedOrNotJoinedGetNothing(t *testing.T) {
	m, registry := startController(t)
	notJoined := clusterName(t, "not-joined")
	notAccepted := clusterName(t, "not-accepted")
	joinedFalse := clusterName(t, "joined-false")
	createCluster(t, m, notJoined, clusterState{accepted: true})
	createCluster(t, m, notAccepted, clusterState{joined: metav1.ConditionTrue})
	createCluster(t, m, joinedFalse, clusterState{accepted: true, joined: metav1.ConditionFalse})

	// The work queue hands clusters to the single worker in the order their changes arrived,
	// so once a cluster created after them has its consumer, these have been looked at.
	control := createAndAwait(t, m, "control")
	if names := m.consumerNames(); !slices.Equal(names, []string{control}) {
		t.Fatalf("consumers = %v, want only %s", names, control)
	}
	for _, name := range []string{notJoined, notAccepted, joinedFalse} {
		if hasFinalizer(t, name) {
			t.Errorf("cluster %s got a finalizer", name)
		}
	}
	if got := reconciles(t, registry, consumer.ResultSkipped); got < 3 {
		t.Errorf("skipped reconciles = %v, want at least 3", got)
	}

	// Once it is accepted the not-accepted cluster gets its consumer.
	updateCluster(t, notAccepted, func(c *clusterv1.ManagedCluster) bool {
		c.Spec.HubAcceptsClient = true
		return false
	})
	awaitConsumer(t, m, notAccepted, map[string]string{})
	if names := m.consumerNames(); !slices.Equal(names, sorted(control, notAccepted)) {
		t.Errorf("consumers = %v, want %s and %s", names, control, notAccepted)
	}
}

func TestDeleteWithoutResources(t *testing.T) {
	m, registry := startController(t)
	name := clusterName(t, "delete")
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue})
	awaitConsumer(t, m, name, map[string]string{})

	deleteCluster(t, name)
	testenv.Eventually(t, timeout, func() (bool, error) { return clusterGone(t, name) })
	if _, ok := m.consumerLabels(name); ok {
		t.Errorf("consumer %s still exists after its cluster was deleted", name)
	}
	if got := counter(t, registry, "conductor_consumer_consumers_deleted_total", nil); got != 1 {
		t.Errorf("consumers_deleted_total = %v, want 1", got)
	}
}

func TestDeleteWaitsForResources(t *testing.T) {
	m, registry := startController(t)
	name := clusterName(t, "blocked")
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue})
	awaitConsumer(t, m, name, map[string]string{})
	resource := m.insertResource(name)

	deleteCluster(t, name)
	note := awaitEvent(t, name, corev1.EventTypeWarning, consumer.ReasonDeletionBlocked)
	if !strings.Contains(note, "fk_resources_consumers") {
		t.Errorf("event note %q does not carry Maestro's reason", note)
	}
	cond := awaitCondition(t, name, metav1.ConditionFalse, consumer.ReasonDeletionBlocked)
	if !strings.Contains(cond.Message, "resource bundles reference it") {
		t.Errorf("condition message %q", cond.Message)
	}
	// Retried with backoff, and the cluster and consumer stay meanwhile.
	testenv.Eventually(t, timeout, func() (bool, error) {
		return reconciles(t, registry, consumer.ResultBlocked) >= 3, nil
	})
	if _, ok := m.consumerLabels(name); !ok || !hasFinalizer(t, name) {
		t.Fatalf("consumer exists: %v; finalizer kept: %v", ok, hasFinalizer(t, name))
	}

	m.deleteResource(resource)
	testenv.Eventually(t, timeout, func() (bool, error) { return clusterGone(t, name) })
	if _, ok := m.consumerLabels(name); ok {
		t.Errorf("consumer %s still exists", name)
	}
}

func TestDeleteWhenConsumerAlreadyGone(t *testing.T) {
	m, _ := startController(t)
	name := clusterName(t, "gone")
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue})
	awaitConsumer(t, m, name, map[string]string{})
	if _, err := m.pool.Exec(t.Context(), "DELETE FROM consumers WHERE name = $1", name); err != nil {
		t.Fatal(err)
	}
	deleteCluster(t, name)
	testenv.Eventually(t, timeout, func() (bool, error) { return clusterGone(t, name) })
}

func TestMaestroDownThenUp(t *testing.T) {
	m, registry := startController(t)
	m.Stop()
	name := clusterName(t, "outage")
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue})

	// Failures are retried, with growing delays, and never stop the controller.
	testenv.Eventually(t, timeout, func() (bool, error) {
		return reconciles(t, registry, consumer.ResultError) >= 4, nil
	})
	if got := counter(t, registry, "conductor_maestro_rest_requests_total", map[string]string{"method": "GET", "code": "error"}); got < 4 {
		t.Errorf("failed REST calls counted: %v", got)
	}

	m.Start()
	awaitConsumer(t, m, name, map[string]string{})
	awaitCondition(t, name, metav1.ConditionTrue, consumer.ReasonConsumerSynced)
}

func TestInvalidNameIsReportedNotRetried(t *testing.T) {
	m, registry := startController(t)
	name := clusterName(t, "has.dots") // a valid Kubernetes name, not an RFC 1123 label
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue})

	note := awaitEvent(t, name, corev1.EventTypeWarning, consumer.ReasonNameRejected)
	if !strings.Contains(note, "Invalid value") {
		t.Errorf("event note %q does not carry Maestro's reason", note)
	}
	awaitCondition(t, name, metav1.ConditionFalse, consumer.ReasonNameRejected)
	// Absence of retries cannot be awaited, so watch for a while. Our own writes (finalizer,
	// condition) may bring one more attempt right away; the first second lets that pass.
	// Retrying with the 50 ms..1 s backoff would show at least two attempts in the next two.
	time.Sleep(time.Second)
	posts := m.Posts()
	time.Sleep(2 * time.Second)
	if got := m.Posts(); got != posts {
		t.Errorf("the rejected name was tried again: %d creations, then %d", posts, got)
	}
	if got := reconciles(t, registry, consumer.ResultRejected); got < 1 {
		t.Errorf("rejected reconciles = %v", got)
	}

	// Deleting it needs no consumer deletion.
	deleteCluster(t, name)
	testenv.Eventually(t, timeout, func() (bool, error) { return clusterGone(t, name) })
}

func TestOneLeaderAmongReplicas(t *testing.T) {
	m := startMaestro(t)
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterName(t, "leader-election")}}
	if err := kube.Env(t).Client.Create(t.Context(), namespace); err != nil {
		t.Fatal(err)
	}
	leaseID := "consumer-controller-test"
	var replicas []*runningManager
	for range 2 {
		opts := controllerOptions(m, prometheus.NewRegistry())
		opts.LeaderElection = consumer.LeaderElection{
			Enabled: true, ID: leaseID, Namespace: namespace.Name,
			LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond,
		}
		replicas = append(replicas, runManager(t, opts))
	}
	isLeader := func(r *runningManager) bool {
		select {
		case <-r.Elected():
			return true
		default:
			return false
		}
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		return isLeader(replicas[0]) || isLeader(replicas[1]), nil
	})
	if isLeader(replicas[0]) && isLeader(replicas[1]) {
		t.Fatal("both replicas are leaders")
	}
	leader, standby := replicas[0], replicas[1]
	if isLeader(standby) {
		leader, standby = standby, leader
	}
	first := createAndAwait(t, m, "first")
	if isLeader(standby) {
		t.Fatal("the standby became leader while the leader was running")
	}

	// The leader steps down, releasing the lease; the standby takes over.
	if err := leader.Stop(); err != nil {
		t.Fatalf("stopping the leader: %v", err)
	}
	testenv.Eventually(t, timeout, func() (bool, error) { return isLeader(standby), nil })
	lease := &coordinationv1.Lease{}
	if err := kube.Env(t).Client.Get(t.Context(), client.ObjectKey{Namespace: namespace.Name, Name: leaseID}, lease); err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("lease %s has no holder", leaseID)
	}
	second := createAndAwait(t, m, "second")
	if names := m.consumerNames(); !slices.Equal(names, sorted(first, second)) {
		t.Errorf("consumers %v", names)
	}
}

func createAndAwait(t *testing.T, m *maestroServer, base string) string {
	t.Helper()
	name := clusterName(t, base)
	createCluster(t, m, name, clusterState{accepted: true, joined: metav1.ConditionTrue})
	awaitConsumer(t, m, name, map[string]string{})
	return name
}

func sorted(names ...string) []string {
	slices.Sort(names)
	return names
}
