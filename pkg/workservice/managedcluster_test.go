package workservice_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice"
)

const clustersKey = "managedclusters"

func hasResourceVersion(rv string) func(event.Event) bool {
	return func(evt event.Event) bool {
		got, err := ce.ResourceVersionString(evt)
		return err == nil && got == rv
	}
}

func TestManagedClusterRequestsAndPushes(t *testing.T) {
	h := newHub(t)
	h.startReplica(t)
	name := uniqueName("mc-requests")
	pushed := h.watch(t, name, clustersKey)
	mc := ce.ManagedClustersDataType

	// The agent cannot put its cluster into a cluster set.
	h.mustOK(t, clustersKey, agentEvent(t, mc, ce.SubresourceSpec, ce.ActionCreateRequest, name, &clusterv1.ManagedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{workservice.ClusterSetLabel: "chosen-by-agent", "vendor": "x"}},
		Spec:       clusterv1.ManagedClusterSpec{LeaseDurationSeconds: 60},
	}))
	stored := &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	h.get(t, stored)
	if _, ok := stored.Labels[workservice.ClusterSetLabel]; ok || stored.Labels["vendor"] != "x" {
		t.Errorf("labels after create: %v", stored.Labels)
	}
	created := pushed.next(t)
	assertPush(t, created, ce.ActionCreateRequest, name, string(stored.UID))
	if rv, _ := ce.ResourceVersionString(created); rv != stored.ResourceVersion {
		t.Errorf("resourceversion %q, want %q", rv, stored.ResourceVersion)
	}
	var pushedCluster clusterv1.ManagedCluster
	decodeData(t, created, &pushedCluster)
	if pushedCluster.Kind != "ManagedCluster" || pushedCluster.APIVersion != "cluster.open-cluster-management.io/v1" {
		t.Errorf("pushed object has TypeMeta %+v", pushedCluster.TypeMeta)
	}

	// Status update with the agent's cached object.
	staleCopy := stored.DeepCopy()
	stored.Status.Version.Kubernetes = "v1.31.4"
	stored.Status.Conditions = []metav1.Condition{{Type: clusterv1.ManagedClusterConditionJoined, Status: metav1.ConditionTrue,
		Reason: "ManagedClusterJoined", Message: "joined", LastTransitionTime: metav1.Now()}}
	h.mustOK(t, clustersKey, objectEvent(t, mc, ce.SubresourceStatus, ce.ActionUpdateRequest, name, stored))
	h.get(t, stored)
	if stored.Status.Version.Kubernetes != "v1.31.4" || len(stored.Status.Conditions) != 1 {
		t.Fatalf("status not written: %+v", stored.Status)
	}
	// Every change of a cluster, status included, reaches the agent.
	updated := pushed.until(t, hasResourceVersion(stored.ResourceVersion))
	assertPush(t, updated, ce.ActionUpdateRequest, name, string(stored.UID))

	// A status update from an outdated cache is a Conflict the agent retries.
	staleCopy.Status.Version.Kubernetes = "v0.0.1"
	h.wantStatus(t, clustersKey, objectEvent(t, mc, ce.SubresourceStatus, ce.ActionUpdateRequest, name, staleCopy),
		metav1.StatusReasonConflict, 409)

	// A spec update keeps the cluster set the hub chose.
	patch := client.MergeFrom(stored.DeepCopy())
	stored.Labels[workservice.ClusterSetLabel] = "hub-set"
	if err := h.env.Client.Patch(context.Background(), stored, patch); err != nil {
		t.Fatal(err)
	}
	agentCopy := stored.DeepCopy()
	delete(agentCopy.Labels, workservice.ClusterSetLabel)
	agentCopy.Spec.ManagedClusterClientConfigs = []clusterv1.ClientConfig{{URL: "https://api.example.com:6443"}}
	h.mustOK(t, clustersKey, objectEvent(t, mc, ce.SubresourceSpec, ce.ActionUpdateRequest, name, agentCopy))
	h.get(t, stored)
	if stored.Labels[workservice.ClusterSetLabel] != "hub-set" || len(stored.Spec.ManagedClusterClientConfigs) != 1 {
		t.Errorf("after spec update: labels %v, client configs %v", stored.Labels, stored.Spec.ManagedClusterClientConfigs)
	}

	// Actions the OCM hub does not serve, and objects of another cluster, are bad requests.
	h.wantStatus(t, clustersKey, objectEvent(t, mc, ce.SubresourceSpec, ce.ActionDeleteRequest, name, stored),
		metav1.StatusReasonBadRequest, 400)
	h.wantStatus(t, clustersKey, objectEvent(t, mc, ce.SubresourceStatus, ce.ActionUpdateRequest, "mc-other", stored),
		metav1.StatusReasonBadRequest, 400)
}

func TestManagedClusterResync(t *testing.T) {
	h := newHub(t)
	name := uniqueName("mc-resync")
	cluster := &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	h.create(t, cluster)
	pushed := h.watch(t, name, clustersKey)
	h.startReplica(t) // lists the cluster while starting: no push for it
	mc := ce.ManagedClustersDataType

	reply := h.mustOK(t, clustersKey, resyncRequest(t, mc, name,
		ce.ResourceVersionEntry{ResourceID: string(cluster.UID), ResourceVersion: parseRV(t, cluster.ResourceVersion)},
		ce.ResourceVersionEntry{ResourceID: "gone-uid", ResourceVersion: 3}))
	if len(reply.OwnedResourceIDs) != 1 || reply.OwnedResourceIDs[0] != string(cluster.UID) {
		t.Errorf("owned IDs %v, want only the cluster's UID (the gateway deletes the others)", reply.OwnedResourceIDs)
	}

	// Fence: the first push is this change, so neither the initial list nor the resync of an
	// up-to-date agent pushed anything.
	patch := client.MergeFrom(cluster.DeepCopy())
	cluster.Labels = map[string]string{"fence": "1"}
	if err := h.env.Client.Patch(context.Background(), cluster, patch); err != nil {
		t.Fatal(err)
	}
	updated := pushed.next(t)
	assertPush(t, updated, ce.ActionUpdateRequest, name, string(cluster.UID))
	if got, _ := ce.ResourceVersionString(updated); got != cluster.ResourceVersion {
		t.Fatalf("first push has resourceversion %q, want the fence's %q", got, cluster.ResourceVersion)
	}

	// An agent with an older copy gets the cluster again.
	h.mustOK(t, clustersKey, resyncRequest(t, mc, name,
		ce.ResourceVersionEntry{ResourceID: string(cluster.UID), ResourceVersion: parseRV(t, cluster.ResourceVersion) - 1}))
	resent := pushed.next(t)
	assertPush(t, resent, ce.ActionResyncResponse, name, string(cluster.UID))
	if got, _ := ce.ResourceVersionString(resent); got != cluster.ResourceVersion {
		t.Errorf("resync resourceversion %q, want %q", got, cluster.ResourceVersion)
	}

	// So does an agent with an empty cache.
	h.mustOK(t, clustersKey, resyncRequest(t, mc, name))
	assertPush(t, pushed.next(t), ce.ActionResyncResponse, name, string(cluster.UID))

	// A cluster the hub does not have: nothing owned.
	reply = h.mustOK(t, clustersKey, resyncRequest(t, mc, "mc-unknown", ce.ResourceVersionEntry{ResourceID: "x", ResourceVersion: 1}))
	if len(reply.OwnedResourceIDs) != 0 {
		t.Errorf("owned IDs for an unknown cluster: %v", reply.OwnedResourceIDs)
	}
}

func parseRV(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}
