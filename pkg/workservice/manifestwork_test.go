package workservice_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudevents-conductor/conductor/pkg/apis/work/payload"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

const worksKey = "manifestbundles"

func newWork(name, cluster, data string) *workv1.ManifestWork {
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","namespace":"default"},"data":{"key":"` + data + `"}}`
	return &workv1.ManifestWork{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cluster,
			Annotations: map[string]string{"logging.open-cluster-management.io/x-request-id": "req-1"}},
		Spec: workv1.ManifestWorkSpec{Workload: workv1.ManifestsTemplate{Manifests: []workv1.Manifest{
			{RawExtension: runtime.RawExtension{Raw: []byte(cm)}},
		}}},
	}
}

// workStatusEvent is a work agent's status report for the work, about the given generation.
func workStatusEvent(t *testing.T, work *workv1.ManifestWork, generation int64, conditions ...metav1.Condition) event.Event {
	t.Helper()
	status := payload.ManifestBundleStatus{Conditions: conditions}
	evt := agentEvent(t, ce.ManifestBundlesDataType, ce.SubresourceStatus, ce.ActionUpdateRequest, work.Namespace, status)
	evt.SetSource(work.Namespace + "-work-agent")
	ce.SetOriginalSource(&evt, "kube")
	ce.SetResourceID(&evt, string(work.UID))
	if err := ce.SetResourceVersionInt(&evt, generation); err != nil {
		t.Fatal(err)
	}
	return evt
}

func condition(typ string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: typ, Message: typ, LastTransitionTime: metav1.Now()}
}

func generationOf(t *testing.T, evt event.Event) int64 {
	t.Helper()
	gen, err := ce.ResourceVersionInt(evt)
	if err != nil {
		t.Fatal(err)
	}
	return gen
}

func TestManifestWorkStatusAndPushes(t *testing.T) {
	h := newHub(t)
	cluster := uniqueName("work-status")
	h.namespace(t, cluster)
	pushed := h.watch(t, cluster, worksKey)
	h.startReplica(t)
	ctx := context.Background()

	work := newWork("w1", cluster, "v1")
	h.create(t, work)
	created := pushed.next(t)
	assertPush(t, created, ce.ActionCreateRequest, cluster, string(work.UID))
	if generationOf(t, created) != 1 {
		t.Errorf("create pushed generation %d", generationOf(t, created))
	}
	var bundle payload.ManifestBundle
	decodeData(t, created, &bundle)
	if len(bundle.Manifests) != 1 {
		t.Errorf("pushed bundle %+v", bundle)
	}
	if tracing, _ := ce.LogTracing(created); tracing != `{"logging.open-cluster-management.io/x-request-id":"req-1"}` {
		t.Errorf("logtracing %q", tracing)
	}

	// The agent reports status (the data a real work agent sent, for this work).
	report := goldenRequest(t, "agent-work-status-update-kube")
	ce.SetClusterName(&report, cluster)
	ce.SetResourceID(&report, string(work.UID))
	h.mustOK(t, worksKey, report)
	h.get(t, work)
	if !slices.Contains(work.Finalizers, workv1.ManifestWorkFinalizer) {
		t.Errorf("finalizers %v, want the cleanup finalizer", work.Finalizers)
	}
	if !meta.IsStatusConditionTrue(work.Status.Conditions, workv1.WorkApplied) || len(work.Status.ResourceStatus.Manifests) != 2 {
		t.Errorf("status not written: %+v", work.Status)
	}

	// The status write and the finalizer were not pushed back: the next push is the spec change.
	update := client.MergeFrom(work.DeepCopy())
	work.Spec = newWork("w1", cluster, "v2").Spec
	if err := h.env.Client.Patch(ctx, work, update); err != nil {
		t.Fatal(err)
	}
	changed := pushed.next(t)
	assertPush(t, changed, ce.ActionUpdateRequest, cluster, string(work.UID))
	if generationOf(t, changed) != 2 {
		t.Errorf("spec change pushed generation %d, want 2", generationOf(t, changed))
	}

	// A status about generation 1 is stale now and ignored.
	h.mustOK(t, worksKey, workStatusEvent(t, work, 1, condition(workv1.WorkDegraded)))
	// A status for a work the hub does not have is ignored too.
	unknown := work.DeepCopy()
	unknown.UID = "00000000-0000-0000-0000-000000000000"
	h.mustOK(t, worksKey, workStatusEvent(t, unknown, 5, condition(workv1.WorkDegraded)))
	h.get(t, work)
	if meta.FindStatusCondition(work.Status.Conditions, workv1.WorkDegraded) != nil {
		t.Errorf("a stale status was written: %+v", work.Status.Conditions)
	}
	h.mustOK(t, worksKey, workStatusEvent(t, work, 2, condition(workv1.WorkApplied), condition(workv1.WorkAvailable)))
	h.get(t, work)
	if !meta.IsStatusConditionTrue(work.Status.Conditions, workv1.WorkAvailable) || len(work.Status.ResourceStatus.Manifests) != 0 {
		t.Errorf("current status not written: %+v", work.Status)
	}

	// Label changes are pushed.
	relabel := client.MergeFrom(work.DeepCopy())
	work.Labels = map[string]string{"tier": "gold"}
	if err := h.env.Client.Patch(ctx, work, relabel); err != nil {
		t.Fatal(err)
	}
	assertPush(t, pushed.next(t), ce.ActionUpdateRequest, cluster, string(work.UID))

	// Deletion: the finalizer keeps the work, the agent is told to clean up.
	if err := h.env.Client.Delete(ctx, work); err != nil {
		t.Fatal(err)
	}
	deleting := pushed.next(t)
	assertPush(t, deleting, ce.ActionUpdateRequest, cluster, string(work.UID))
	if !ce.HasExtension(deleting, ce.ExtDeletionTimestamp) {
		t.Fatal("a deleting work must be pushed with deletiontimestamp")
	}

	// The agent reports Deleted: the finalizer goes and so does the work.
	h.mustOK(t, worksKey, workStatusEvent(t, work, 2, condition(workv1.WorkApplied), condition(workv1.WorkDeleted)))
	gone := pushed.until(t, isAction(ce.ActionDeleteRequest))
	assertPush(t, gone, ce.ActionDeleteRequest, cluster, string(work.UID))
	if md, err := ce.Metadata(gone); err != nil || md == "" {
		t.Errorf("delete push without metadata: %v", err)
	}
	if _, err := ce.ResourceVersionInt(gone); err != nil {
		t.Errorf("delete push without an integer resourceversion: %v", err)
	}

	// Status updates are the only thing agents may send for works.
	h.wantStatus(t, worksKey, agentEvent(t, ce.ManifestBundlesDataType, ce.SubresourceSpec, ce.ActionUpdateRequest, cluster, work),
		metav1.StatusReasonBadRequest, 400)
	noVersion := workStatusEvent(t, work, 1)
	noVersion.SetExtension(ce.ExtResourceVersion, nil)
	h.wantStatus(t, worksKey, noVersion, metav1.StatusReasonBadRequest, 400)
}

func TestManifestWorkResync(t *testing.T) {
	h := newHub(t)
	cluster := uniqueName("work-resync")
	h.namespace(t, cluster)
	ctx := context.Background()

	current := newWork("current", cluster, "a")
	newer := newWork("newer", cluster, "a")
	deleting := newWork("deleting", cluster, "a")
	deleting.Finalizers = []string{"test.example.com/keep"}
	for _, w := range []*workv1.ManifestWork{current, newer, deleting} {
		h.create(t, w)
	}
	update := client.MergeFrom(newer.DeepCopy())
	newer.Spec = newWork("newer", cluster, "b").Spec
	if err := h.env.Client.Patch(ctx, newer, update); err != nil {
		t.Fatal(err)
	}
	if err := h.env.Client.Delete(ctx, deleting); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		release := client.MergeFrom(deleting.DeepCopy())
		deleting.Finalizers = nil
		_ = h.env.Client.Patch(ctx, deleting, release)
	})
	pushed := h.watch(t, cluster, worksKey)
	h.startReplica(t)

	reply := h.mustOK(t, worksKey, resyncRequest(t, ce.ManifestBundlesDataType, cluster,
		ce.ResourceVersionEntry{ResourceID: string(current.UID), ResourceVersion: 1},
		ce.ResourceVersionEntry{ResourceID: string(newer.UID), ResourceVersion: 1},
		ce.ResourceVersionEntry{ResourceID: string(deleting.UID), ResourceVersion: 1},
		ce.ResourceVersionEntry{ResourceID: "maestro-owned-id", ResourceVersion: 4}))
	owned := slices.Sorted(slices.Values(reply.OwnedResourceIDs))
	want := slices.Sorted(slices.Values([]string{string(current.UID), string(newer.UID), string(deleting.UID)}))
	if !slices.Equal(owned, want) {
		t.Errorf("owned %v, want %v (ids of other backends are the gateway's business)", owned, want)
	}

	got := map[string]event.Event{}
	for range 2 {
		evt := pushed.next(t)
		got[resourceID(t, evt)] = evt
	}
	if evt, ok := got[string(newer.UID)]; !ok || generationOf(t, evt) != 2 {
		t.Errorf("the newer work was not resent at generation 2: %v", got)
	}
	if evt, ok := got[string(deleting.UID)]; !ok || !ce.HasExtension(evt, ce.ExtDeletionTimestamp) {
		t.Errorf("the deleting work was not resent as a deletion: %v", got)
	}
	for _, evt := range got {
		assertPush(t, evt, ce.ActionResyncResponse, cluster, resourceID(t, evt))
	}

	// The up-to-date work was not resent: the next push is this fence.
	relabel := client.MergeFrom(current.DeepCopy())
	current.Labels = map[string]string{"fence": "1"}
	if err := h.env.Client.Patch(ctx, current, relabel); err != nil {
		t.Fatal(err)
	}
	assertPush(t, pushed.next(t), ce.ActionUpdateRequest, cluster, string(current.UID))

	// An empty agent cache gets all three.
	h.mustOK(t, worksKey, resyncRequest(t, ce.ManifestBundlesDataType, cluster))
	for range 3 {
		if typeOf(t, pushed.next(t)).Action != ce.ActionResyncResponse {
			t.Fatal("want resync responses")
		}
	}
}
