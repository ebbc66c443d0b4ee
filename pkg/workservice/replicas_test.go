package workservice_test

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// TestEveryReplicaPushes runs two replicas: both push each change (gateways drop the duplicate),
// so a change made while one replica is down still reaches the bus.
func TestEveryReplicaPushes(t *testing.T) {
	h := newHub(t)
	cluster := uniqueName("replicas")
	const key = "leases"
	h.namespace(t, cluster)
	pushed := h.watch(t, cluster, key)
	first := h.startReplica(t)
	second := h.startReplica(t)

	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "managed-cluster-lease", Namespace: cluster,
			Labels: map[string]string{clusterv1.ClusterNameLabelKey: cluster}},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](60)},
	}
	h.create(t, lease)
	for range 2 {
		evt := pushed.next(t)
		assertPush(t, evt, ce.ActionCreateRequest, cluster, string(lease.UID))
	}
	pushesOf := func(r *replica) float64 {
		return r.metric(t, "conductor_work_service_pushes_total",
			map[string]string{"data_type": key, "action": "create_request", "result": "ok"})
	}
	if pushesOf(first) != 1 || pushesOf(second) != 1 {
		t.Errorf("create pushes: first %v, second %v; want one each", pushesOf(first), pushesOf(second))
	}

	first.stop()
	// The renewal is served by the remaining replica and pushed by it.
	lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
	h.mustOK(t, key, objectEvent(t, ce.LeasesDataType, ce.SubresourceSpec, ce.ActionUpdateRequest, cluster, lease))
	h.get(t, lease)
	renewed := pushed.next(t)
	assertPush(t, renewed, ce.ActionUpdateRequest, cluster, string(lease.UID))
	if rv, _ := ce.ResourceVersionString(renewed); rv != lease.ResourceVersion {
		t.Errorf("pushed resourceversion %q, want %q", rv, lease.ResourceVersion)
	}

	// A change made while the first replica is down, then the first comes back: its initial
	// list pushes nothing, and the next change is pushed by both again.
	if err := h.env.Client.Delete(context.Background(), lease); err != nil {
		t.Fatal(err)
	}
	assertPush(t, pushed.next(t), ce.ActionDeleteRequest, cluster, string(lease.UID))
	h.startReplica(t)
	again := lease.DeepCopy()
	again.ResourceVersion, again.UID = "", ""
	h.create(t, again)
	for range 2 {
		assertPush(t, pushed.next(t), ce.ActionCreateRequest, cluster, string(again.UID))
	}
}
