package workservice_test

import (
	"context"
	"maps"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice"
)

// TestRecordedAgentRequests replays requests recorded from the real sdk-go agent clients (cluster
// "cluster1"), so the service is known to read what klusterlets send.
func TestRecordedAgentRequests(t *testing.T) {
	h := newHub(t)
	const cluster = "cluster1"
	h.namespace(t, cluster)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "managed-serviceaccount", Namespace: cluster}}
	if err := h.env.Client.Create(context.Background(), sa); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// The recorded names are fixed: remove the cluster-scoped objects for the next run (-count).
	t.Cleanup(func() {
		for _, obj := range []client.Object{
			&clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: cluster}},
			&certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "cluster1-jkhhr"}},
		} {
			if err := h.env.Client.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	clusterPushes := h.watch(t, cluster, clustersKey)
	tokenPushes := h.watch(t, cluster, "tokenrequests")
	h.startReplica(t)

	// Bootstrap: the agent creates its ManagedCluster and a CSR.
	h.mustOK(t, clustersKey, goldenRequest(t, "agent-cluster-spec-create-request"))
	mc := &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: cluster}}
	h.get(t, mc)
	assertPush(t, clusterPushes.next(t), ce.ActionCreateRequest, cluster, string(mc.UID))

	if err := h.request(t, csrsKey, goldenRequest(t, "agent-csr-spec-create-request"), bootstrapUser).Err(); err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "cluster1-jkhhr"}}
	h.get(t, csr)
	if want := map[string]string{workservice.CSRUserAnnotation: bootstrapUser}; !maps.Equal(csr.Annotations, want) {
		t.Errorf("CSR annotations %v, want %v", csr.Annotations, want)
	}

	// The status update recorded with a stale cache is a Conflict, as on the OCM hub.
	h.wantStatus(t, clustersKey, goldenRequest(t, "error-conflict-request"), metav1.StatusReasonConflict, 409)

	// Resync requests of every type, as agents send them after subscribing.
	for _, name := range []string{
		"agent-cluster-spec-resync-request", "agent-csr-spec-resync-request", "agent-lease-spec-resync-request",
		"agent-addon-spec-resync-request", "agent-work-spec-resync-request-empty", "agent-work-spec-resync-request",
		"agent-tokenrequest-spec-resync-request",
	} {
		evt := goldenRequest(t, name)
		reply := h.mustOK(t, keyOf(t, evt), evt)
		if len(reply.OwnedResourceIDs) != 0 {
			t.Errorf("%s: owned %v, the hub has none of the recorded ids", name, reply.OwnedResourceIDs)
		}
	}
	// The cluster resync (empty agent cache) resent the cluster.
	assertPush(t, clusterPushes.until(t, isAction(ce.ActionResyncResponse)), ce.ActionResyncResponse, cluster, string(mc.UID))
	h.wantStatus(t, "events", goldenRequest(t, "agent-event-spec-resync-request"), metav1.StatusReasonMethodNotAllowed, 405)

	// The recorded event names a cluster-scoped object from the cluster namespace with an
	// eventTime, which kube-apiserver validation refuses; the agent gets that error unchanged.
	h.wantStatus(t, "events", goldenRequest(t, "agent-event-spec-create-request"), metav1.StatusReasonInvalid, 422)

	// Token request round trip with the recorded request id.
	h.mustOK(t, "tokenrequests", goldenRequest(t, "agent-tokenrequest-spec-create-request"))
	assertPush(t, tokenPushes.next(t), ce.ActionCreateRequest, cluster, "460f8cbb-248d-445a-8cf1-9ecfc2279c7d")
}

func keyOf(t *testing.T, evt interface{ Type() string }) string {
	t.Helper()
	typ, err := ce.ParseEventType(evt.Type())
	if err != nil {
		t.Fatal(err)
	}
	reg, ok := ce.Lookup(typ.DataType)
	if !ok {
		t.Fatalf("data type %s not registered", typ.DataType)
	}
	return reg.Key
}
