package workservice_test

import (
	"context"
	"maps"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice"
)

const csrsKey = "csrs"

// testCSRRequest is a valid PEM certificate request (the one a klusterlet sent in the recording).
func testCSRRequest(t *testing.T) []byte {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{}
	if err := decodeEventData(goldenRequest(t, "agent-csr-spec-create-request"), csr); err != nil {
		t.Fatal(err)
	}
	return csr.Spec.Request
}

func agentCSR(t *testing.T, name, cluster string) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{clusterv1.ClusterNameLabelKey: cluster}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    testCSRRequest(t),
			SignerName: "open-cluster-management.io/grpc",
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
		},
	}
}

func TestCSRCreateRecordsTheAgentUser(t *testing.T) {
	h := newHub(t)
	h.startReplica(t)
	cluster := uniqueName("csr-create")
	dt := ce.CertificateSigningRequestsDataType

	// The agent's own annotations are replaced by exactly the csr-user annotation.
	csr := agentCSR(t, cluster+"-abcde", cluster)
	csr.Annotations = map[string]string{"forged": "yes", workservice.CSRUserAnnotation: "admin"}
	reply := h.request(t, csrsKey, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, csr), bootstrapUser)
	if err := reply.Err(); err != nil {
		t.Fatal(err)
	}
	stored := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: csr.Name}}
	h.get(t, stored)
	if want := map[string]string{workservice.CSRUserAnnotation: bootstrapUser}; !maps.Equal(stored.Annotations, want) {
		t.Errorf("annotations %v, want %v", stored.Annotations, want)
	}

	// A renewal by the cluster's own agent certificate is fine; another cluster's agent is refused.
	renewal := agentCSR(t, cluster+"-renew", cluster)
	ownAgent := "system:open-cluster-management:" + cluster + ":agent1"
	if err := h.request(t, csrsKey, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, renewal), ownAgent).Err(); err != nil {
		t.Errorf("renewal by the cluster's agent: %v", err)
	}
	foreign := agentCSR(t, cluster+"-foreign", cluster)
	st := h.request(t, csrsKey, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, foreign),
		"system:open-cluster-management:other-cluster:agent1").Status
	if st == nil || st.Reason != metav1.StatusReasonForbidden {
		t.Errorf("CSR for another cluster's identity: want Forbidden, got %+v", st)
	}

	// Kubernetes errors reach the agent unchanged.
	h.wantStatus(t, csrsKey, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, csr),
		metav1.StatusReasonAlreadyExists, 409)
	// A CSR must name the event's cluster; agents only create.
	h.wantStatus(t, csrsKey, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, "csr-other", agentCSR(t, cluster+"-x", cluster)),
		metav1.StatusReasonBadRequest, 400)
	h.wantStatus(t, csrsKey, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionUpdateRequest, cluster, csr),
		metav1.StatusReasonBadRequest, 400)
}

func TestCSRPushesAndResync(t *testing.T) {
	h := newHub(t)
	cluster := uniqueName("csr-push")
	old := agentCSR(t, cluster+"-old", cluster)
	h.create(t, old)
	pushed := h.watch(t, cluster, csrsKey)
	h.startReplica(t)
	ctx := context.Background()

	// CSRs of other hub users (no cluster label) are not pushed anywhere; the fence is the
	// labelled one created after it.
	unlabelled := agentCSR(t, cluster+"-kubelet", cluster)
	unlabelled.Labels = nil
	h.create(t, unlabelled)
	csr := agentCSR(t, cluster+"-new", cluster)
	h.create(t, csr)
	created := pushed.next(t)
	assertPush(t, created, ce.ActionCreateRequest, cluster, string(csr.UID))

	// Approval is pushed as an update, with the approved condition in the data.
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved", Message: "test",
	}}
	if _, err := kubeClientset(t, h).CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	approved := pushed.next(t)
	assertPush(t, approved, ce.ActionUpdateRequest, cluster, string(csr.UID))
	var pushedCSR certificatesv1.CertificateSigningRequest
	decodeData(t, approved, &pushedCSR)
	if len(pushedCSR.Status.Conditions) != 1 || pushedCSR.Status.Conditions[0].Type != certificatesv1.CertificateApproved {
		t.Errorf("pushed CSR conditions %+v", pushedCSR.Status.Conditions)
	}

	// Resync lists the cluster's CSRs only: the old one is newer than the agent's copy.
	reply := h.mustOK(t, csrsKey, resyncRequest(t, ce.CertificateSigningRequestsDataType, cluster,
		ce.ResourceVersionEntry{ResourceID: string(old.UID), ResourceVersion: 1}))
	if len(reply.OwnedResourceIDs) != 1 || reply.OwnedResourceIDs[0] != string(old.UID) {
		t.Errorf("owned %v, want [%s]", reply.OwnedResourceIDs, old.UID)
	}
	got := map[string]bool{}
	for range 2 {
		evt := pushed.next(t)
		if typeOf(t, evt).Action != ce.ActionResyncResponse {
			t.Fatalf("unexpected push %s", evt.Type())
		}
		got[resourceID(t, evt)] = true
	}
	if !got[string(old.UID)] || !got[string(csr.UID)] {
		t.Errorf("resync pushed %v, want both labelled CSRs", got)
	}

	// Deletion is pushed as a tombstone.
	if err := h.env.Client.Delete(ctx, csr, client.Preconditions{UID: &csr.UID}); err != nil {
		t.Fatal(err)
	}
	deleted := pushed.until(t, isAction(ce.ActionDeleteRequest))
	assertPush(t, deleted, ce.ActionDeleteRequest, cluster, string(csr.UID))
	if !ce.HasExtension(deleted, ce.ExtDeletionTimestamp) {
		t.Error("deletion without deletiontimestamp")
	}
}
