package workservice_test

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonv1alpha1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1alpha1"
	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

func availableCondition(message string) []metav1.Condition {
	return []metav1.Condition{{Type: "Available", Status: metav1.ConditionTrue, Reason: "LeaseUpdated",
		Message: message, LastTransitionTime: metav1.Now()}}
}

func TestAddOnStatusUpdatesInBothVersions(t *testing.T) {
	h := newHub(t)
	h.startReplica(t)

	// Both informers see every add-on (one resource, two versions), so each version gets its
	// own cluster here.
	t.Run("v1beta1", func(t *testing.T) {
		cluster := uniqueName("addon-beta")
		h.namespace(t, cluster)
		const key = "addons-v1beta1"
		dt := ce.ManagedClusterAddOnsV1beta1DataType
		pushed := h.watch(t, cluster, key)
		addon := &addonv1beta1.ManagedClusterAddOn{ObjectMeta: metav1.ObjectMeta{Name: "beta", Namespace: cluster}}
		h.create(t, addon)
		assertPush(t, pushed.next(t), ce.ActionCreateRequest, cluster, string(addon.UID))

		stale := addon.DeepCopy()
		addon.Status.Conditions = availableCondition("beta is available")
		addon.Status.Namespace = "open-cluster-management-agent-addon"
		h.mustOK(t, key, objectEvent(t, dt, ce.SubresourceStatus, ce.ActionUpdateRequest, cluster, addon))
		h.get(t, addon)
		if len(addon.Status.Conditions) != 1 || addon.Status.Namespace != "open-cluster-management-agent-addon" {
			t.Errorf("status not written: %+v", addon.Status)
		}
		updated := pushed.next(t)
		assertPush(t, updated, ce.ActionUpdateRequest, cluster, string(addon.UID))
		var got addonv1beta1.ManagedClusterAddOn
		decodeData(t, updated, &got)
		if got.APIVersion != "addon.open-cluster-management.io/v1beta1" || len(got.Status.Conditions) != 1 {
			t.Errorf("pushed %+v", got)
		}

		stale.Status.Conditions = availableCondition("late")
		h.wantStatus(t, key, objectEvent(t, dt, ce.SubresourceStatus, ce.ActionUpdateRequest, cluster, stale),
			metav1.StatusReasonConflict, 409)
		h.wantStatus(t, key, objectEvent(t, dt, ce.SubresourceSpec, ce.ActionUpdateRequest, cluster, addon),
			metav1.StatusReasonBadRequest, 400)

		reply := h.mustOK(t, key, resyncRequest(t, dt, cluster,
			ce.ResourceVersionEntry{ResourceID: string(addon.UID), ResourceVersion: parseRV(t, addon.ResourceVersion)}))
		if len(reply.OwnedResourceIDs) != 1 {
			t.Errorf("owned %v", reply.OwnedResourceIDs)
		}

		if err := h.env.Client.Delete(context.Background(), addon); err != nil {
			t.Fatal(err)
		}
		// The up-to-date resync above pushed nothing: the next push is the deletion.
		assertPush(t, pushed.next(t), ce.ActionDeleteRequest, cluster, string(addon.UID))
	})

	t.Run("v1alpha1", func(t *testing.T) {
		cluster := uniqueName("addon-alpha")
		h.namespace(t, cluster)
		const key = "addons-v1alpha1"
		dt := ce.ManagedClusterAddOnsV1alpha1DataType
		pushed := h.watch(t, cluster, key)
		addon := &addonv1alpha1.ManagedClusterAddOn{ObjectMeta: metav1.ObjectMeta{Name: "alpha", Namespace: cluster}}
		h.create(t, addon)
		assertPush(t, pushed.next(t), ce.ActionCreateRequest, cluster, string(addon.UID))

		addon.Status.Conditions = availableCondition("alpha is available")
		h.mustOK(t, key, objectEvent(t, dt, ce.SubresourceStatus, ce.ActionUpdateRequest, cluster, addon))
		h.get(t, addon)
		if len(addon.Status.Conditions) != 1 {
			t.Errorf("status not written: %+v", addon.Status)
		}
		updated := pushed.next(t)
		var got addonv1alpha1.ManagedClusterAddOn
		decodeData(t, updated, &got)
		if got.APIVersion != "addon.open-cluster-management.io/v1alpha1" {
			t.Errorf("pushed apiVersion %q", got.APIVersion)
		}

		// An add-on of another cluster's namespace is refused.
		other := addon.DeepCopy()
		other.Namespace = "addon-elsewhere"
		h.wantStatus(t, key, objectEvent(t, dt, ce.SubresourceStatus, ce.ActionUpdateRequest, cluster, other),
			metav1.StatusReasonBadRequest, 400)
	})
}

func TestEventsCreateAndSeriesUpdate(t *testing.T) {
	h := newHub(t)
	cluster := uniqueName("events")
	h.namespace(t, cluster)
	h.startReplica(t)
	const key = "events"
	dt := ce.EventsDataType
	ctx := context.Background()

	now := metav1.NowMicro()
	evt := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "events.1881e2a3b4c5d6e7", Namespace: cluster},
		EventTime:           now,
		ReportingController: "klusterlet",
		ReportingInstance:   "klusterlet-agent-1",
		Action:              "ManagedClusterJoined",
		Reason:              "ManagedClusterJoined",
		Regarding:           corev1.ObjectReference{Kind: "Namespace", Name: cluster, Namespace: cluster, APIVersion: "v1"},
		Note:                "joined",
		Type:                corev1.EventTypeNormal,
	}
	h.mustOK(t, key, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, evt))
	stored := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: evt.Name, Namespace: cluster}}
	h.get(t, stored)

	// An update carries the repetition count; everything else of the stored event is kept.
	repeated := evt.DeepCopy()
	repeated.Note = "changed by the agent"
	repeated.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Now())}
	h.mustOK(t, key, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionUpdateRequest, cluster, repeated))
	h.get(t, stored)
	if stored.Series == nil || stored.Series.Count != 2 || stored.Note != "joined" {
		t.Errorf("after series update: series %+v, note %q", stored.Series, stored.Note)
	}

	// Updating an event the hub no longer has is not an error.
	missing := repeated.DeepCopy()
	missing.Name = "events.gone"
	h.mustOK(t, key, agentEvent(t, dt, ce.SubresourceSpec, ce.ActionUpdateRequest, cluster, missing))
	err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: cluster, Name: missing.Name}, &eventsv1.Event{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("an update must not create the event: %v", err)
	}

	// Events are never listed.
	h.wantStatus(t, key, resyncRequest(t, dt, cluster), metav1.StatusReasonMethodNotAllowed, 405)
	h.wantStatus(t, key, agentEvent(t, dt, ce.SubresourceStatus, ce.ActionUpdateRequest, cluster, evt),
		metav1.StatusReasonBadRequest, 400)
}

func TestLeaseUpdatesPushesAndResync(t *testing.T) {
	h := newHub(t)
	cluster := uniqueName("lease")
	const key = "leases"
	dt := ce.LeasesDataType
	h.namespace(t, cluster)
	labelled := map[string]string{clusterv1.ClusterNameLabelKey: cluster}
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "managed-cluster-lease", Namespace: cluster, Labels: labelled},
		Spec:       coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](60)},
	}
	h.create(t, lease)
	// A lease without the cluster label is not the cluster's (e.g. a controller's leader lease).
	h.create(t, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "leader", Namespace: cluster}})
	pushed := h.watch(t, cluster, key)
	h.startReplica(t)

	reply := h.mustOK(t, key, resyncRequest(t, dt, cluster))
	if len(reply.OwnedResourceIDs) != 0 {
		t.Errorf("owned %v for an agent listing nothing", reply.OwnedResourceIDs)
	}
	resent := pushed.next(t)
	assertPush(t, resent, ce.ActionResyncResponse, cluster, string(lease.UID))

	// The agent renews its lease.
	lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
	h.mustOK(t, key, objectEvent(t, dt, ce.SubresourceSpec, ce.ActionUpdateRequest, cluster, lease))
	h.get(t, lease)
	if lease.Spec.RenewTime == nil {
		t.Fatal("renewTime not written")
	}
	renewed := pushed.next(t)
	assertPush(t, renewed, ce.ActionUpdateRequest, cluster, string(lease.UID))
	if rv, _ := ce.ResourceVersionString(renewed); rv != lease.ResourceVersion {
		t.Errorf("pushed resourceversion %q, want %q", rv, lease.ResourceVersion)
	}

	// The cluster was removed from the hub: NotFound reaches the agent, which drops its lease.
	// (Leases are created on update, so a missing lease in an existing namespace is no error.)
	const removed = "lease-removed"
	missing := lease.DeepCopy()
	missing.Namespace = removed
	missing.UID = "" // with a UID the API server answers Conflict (UID precondition) instead
	h.wantStatus(t, key, objectEvent(t, dt, ce.SubresourceSpec, ce.ActionUpdateRequest, removed, missing),
		metav1.StatusReasonNotFound, 404)
	h.wantStatus(t, key, objectEvent(t, dt, ce.SubresourceSpec, ce.ActionCreateRequest, cluster, missing),
		metav1.StatusReasonBadRequest, 400)

	if err := h.env.Client.Delete(context.Background(), lease); err != nil {
		t.Fatal(err)
	}
	assertPush(t, pushed.next(t), ce.ActionDeleteRequest, cluster, string(lease.UID))
}
