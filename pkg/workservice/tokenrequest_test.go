package workservice_test

import (
	"testing"

	"github.com/google/uuid"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

func TestTokenRequestRoundTrip(t *testing.T) {
	h := newHub(t)
	cluster := uniqueName("token")
	const key = "tokenrequests"
	dt := ce.TokenRequestsDataType
	h.namespace(t, cluster)
	h.create(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "addon-agent", Namespace: cluster}})
	pushed := h.watch(t, cluster, key)
	h.startReplica(t)

	// As the serviceaccount client does: subscribe, publish with a random request id, wait for
	// the pushed answer carrying that id.
	requestID := uuid.NewString()
	req := &authenticationv1.TokenRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-agent", Namespace: cluster, UID: types.UID(requestID)},
		Spec:       authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}
	evt := agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, req)
	ce.SetResourceID(&evt, requestID)
	h.mustOK(t, key, evt)

	answer := pushed.next(t)
	assertPush(t, answer, ce.ActionCreateRequest, cluster, requestID)
	if ce.HasExtension(answer, ce.ExtResourceVersion) {
		t.Error("token answers carry no resourceversion")
	}
	var resp authenticationv1.TokenRequest
	decodeData(t, answer, &resp)
	if string(resp.UID) != requestID || resp.Status.Token == "" || resp.Namespace != cluster {
		t.Errorf("token answer: uid %q, namespace %q, token set %v", resp.UID, resp.Namespace, resp.Status.Token != "")
	}
	if resp.Kind != "" || resp.APIVersion != "" {
		t.Errorf("sdk-go sends token answers without TypeMeta, got %+v", resp.TypeMeta)
	}

	// No such ServiceAccount: the agent gets NotFound and nothing is pushed.
	missing := req.DeepCopy()
	missing.Name = "no-such-sa"
	h.wantStatus(t, key, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, missing),
		metav1.StatusReasonNotFound, 404)

	// Token requests are never resynced: nothing is owned.
	reply := h.mustOK(t, key, resyncRequest(t, dt, cluster, ce.ResourceVersionEntry{ResourceID: requestID}))
	if len(reply.OwnedResourceIDs) != 0 {
		t.Errorf("owned %v", reply.OwnedResourceIDs)
	}
	// A token for another cluster's ServiceAccount is refused.
	foreign := req.DeepCopy()
	foreign.Namespace = "token-elsewhere"
	h.wantStatus(t, key, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, foreign),
		metav1.StatusReasonBadRequest, 400)
}
