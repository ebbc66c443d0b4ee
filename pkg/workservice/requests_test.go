package workservice_test

import (
	"context"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// rawRequest sends evt on the subject of cluster and key, whatever the event says.
func (h *hub) rawRequest(t *testing.T, cluster, key string, evt event.Event) bus.Reply {
	t.Helper()
	subject, err := bus.RequestSubject(bus.BackendKube, cluster, key)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := bus.SendRequest(context.Background(), h.nc, subject, evt, bus.Identity{User: bootstrapUser})
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

func wantBadRequest(t *testing.T, what string, reply bus.Reply) {
	t.Helper()
	if st := bus.StatusFromReply(reply); st == nil || st.Reason != metav1.StatusReasonBadRequest || st.Code != 400 {
		t.Errorf("%s: want BadRequest, got %+v", what, st)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHub(t)
	r := h.startReplica(t)
	cluster := uniqueName("bad")
	mc := ce.ManagedClustersDataType

	malformed := agentEvent(t, mc, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, nil)
	if err := malformed.SetData("application/json", []byte(`{"metadata":`)); err != nil {
		t.Fatal(err)
	}
	wantBadRequest(t, "malformed data", h.rawRequest(t, cluster, clustersKey, malformed))
	wantBadRequest(t, "no data", h.rawRequest(t, cluster, clustersKey,
		agentEvent(t, mc, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, nil)))

	badResync := agentEvent(t, mc, ce.SubresourceSpec, ce.ActionResyncRequest, cluster, nil)
	if err := badResync.SetData("application/json", []byte(`{"resourceVersions":"all"}`)); err != nil {
		t.Fatal(err)
	}
	wantBadRequest(t, "malformed resync", h.rawRequest(t, cluster, clustersKey, badResync))

	obj := &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: cluster}}
	valid := agentEvent(t, mc, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, obj)
	wantBadRequest(t, "event on another data type's subject", h.rawRequest(t, cluster, "leases", valid))
	wantBadRequest(t, "event for another cluster than its subject", h.rawRequest(t, "bad-other", clustersKey, valid))
	wantBadRequest(t, "unknown data type key", h.rawRequest(t, cluster, "widgets", valid))

	noCluster := valid.Clone()
	noCluster.SetExtension(ce.ExtClusterName, nil)
	wantBadRequest(t, "no clustername", h.rawRequest(t, cluster, clustersKey, noCluster))
	badType := valid.Clone()
	badType.SetType("cluster.open-cluster-management.io.v1.managedclusters.spec")
	wantBadRequest(t, "unparsable type", h.rawRequest(t, cluster, clustersKey, badType))
	leaseDelete := objectEvent(t, ce.LeasesDataType, ce.SubresourceSpec, ce.ActionDeleteRequest, cluster,
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: cluster}})
	wantBadRequest(t, "unsupported action", h.rawRequest(t, cluster, "leases", leaseDelete))

	labels := map[string]string{"data_type": "managedclusters", "action": "spec.create_request", "result": "BadRequest"}
	if got := r.metric(t, "conductor_work_service_requests_total", labels); got < 2 {
		t.Errorf("requests_total%v = %v, want >= 2", labels, got)
	}
}

func TestReadinessFollowsNATS(t *testing.T) {
	h := newHub(t)
	svc, err := workservice.New(workservice.Options{Kube: h.env.Config, NATS: h.nc})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Ready(context.Background()) == nil {
		t.Error("ready before the informers synced")
	}

	r := h.startReplica(t) // waits until ready
	h.nats.Shutdown()
	testenv.Eventually(t, waitTimeout, func() (bool, error) { return r.svc.Ready(context.Background()) != nil, nil })
	h.nats.Start(t)
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		err := r.svc.Ready(context.Background())
		return err == nil, err
	})
	// And it serves again.
	reply := h.mustOK(t, clustersKey, resyncRequest(t, ce.ManagedClustersDataType, "ready-again"))
	if len(reply.OwnedResourceIDs) != 0 {
		t.Errorf("owned %v", reply.OwnedResourceIDs)
	}
}
