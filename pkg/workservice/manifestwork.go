package workservice

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/cloudevents/sdk-go/v2/event"
	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// manifestWorks serves the hub's own ManifestWorks (source "kube") to work agents.
type manifestWorks struct{ svc *Service }

// handle applies a work agent's status report (protocol.md 4.2).
func (k *manifestWorks) handle(ctx context.Context, r request) error {
	if r.typ.Subresource != ce.SubresourceStatus || r.typ.Action != ce.ActionUpdateRequest {
		return unsupported(r)
	}
	uid, err := ce.ResourceID(r.event)
	if err != nil {
		return badRequest("%v", err)
	}
	reported, err := ce.ResourceVersionInt(r.event)
	if err != nil {
		return badRequest("%v", err)
	}
	status, err := codec.DecodeManifestBundleStatus(r.event)
	if err != nil {
		return err
	}
	work, err := k.byUID(ctx, r.cluster, uid)
	if err != nil || work == nil {
		return err // not found: deleted meanwhile, nothing to record
	}
	if meta.IsStatusConditionTrue(status.Conditions, workv1.WorkDeleted) {
		return k.setFinalizer(ctx, work, false)
	}
	if work.Generation > reported {
		return nil // the status is about a spec the hub has replaced
	}
	if err := k.setFinalizer(ctx, work, true); err != nil {
		return err
	}
	return k.patchStatus(ctx, work, status.WorkStatus())
}

// byUID finds a work of cluster in the cache; nil when there is none.
func (k *manifestWorks) byUID(ctx context.Context, cluster, uid string) (*workv1.ManifestWork, error) {
	list := &workv1.ManifestWorkList{}
	if err := k.svc.cache.List(ctx, list, client.InNamespace(cluster), client.MatchingFields{workUIDIndex: uid}); err != nil {
		return nil, fmt.Errorf("looking up ManifestWork %s in the cache: %w", uid, err)
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	return &list.Items[0], nil
}

// setFinalizer adds or removes the cleanup finalizer. The patch names the cached resourceVersion,
// so it cannot drop a finalizer someone else added meanwhile (the agent retries the Conflict).
func (k *manifestWorks) setFinalizer(ctx context.Context, work *workv1.ManifestWork, present bool) error {
	has := slices.Contains(work.Finalizers, workv1.ManifestWorkFinalizer)
	if has == present {
		return nil
	}
	finalizers := slices.DeleteFunc(slices.Clone(work.Finalizers), func(f string) bool { return f == workv1.ManifestWorkFinalizer })
	if present {
		finalizers = append(finalizers, workv1.ManifestWorkFinalizer)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":             work.UID,
		"resourceVersion": work.ResourceVersion,
		"finalizers":      finalizers,
	}})
	if err != nil {
		return fmt.Errorf("building finalizer patch: %w", err)
	}
	if err := k.svc.client.Patch(ctx, work, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return err
	}
	return nil
}

// patchStatus merge-patches the status fields that differ from the cached work. The UID
// precondition stops a status landing on a new work that reuses the name.
func (k *manifestWorks) patchStatus(ctx context.Context, work *workv1.ManifestWork, status workv1.ManifestWorkStatus) error {
	if equality.Semantic.DeepEqual(work.Status, status) {
		return nil
	}
	type statusOnly struct {
		Status workv1.ManifestWorkStatus `json:"status"`
	}
	oldJSON, err := json.Marshal(statusOnly{work.Status})
	if err != nil {
		return fmt.Errorf("encoding cached status: %w", err)
	}
	newJSON, err := json.Marshal(statusOnly{status})
	if err != nil {
		return fmt.Errorf("encoding reported status: %w", err)
	}
	diff, err := jsonpatch.CreateMergePatch(oldJSON, newJSON)
	if err != nil {
		return fmt.Errorf("building status patch: %w", err)
	}
	patch := map[string]json.RawMessage{}
	if err := json.Unmarshal(diff, &patch); err != nil {
		return fmt.Errorf("building status patch: %w", err)
	}
	patch["metadata"], err = json.Marshal(metav1.ObjectMeta{UID: work.UID})
	if err != nil {
		return fmt.Errorf("building status patch: %w", err)
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("building status patch: %w", err)
	}
	return k.svc.client.Status().Patch(ctx, work, client.RawPatch(types.MergePatchType, raw))
}

func (k *manifestWorks) list(ctx context.Context, cluster string) ([]event.Event, error) {
	list := &workv1.ManifestWorkList{}
	if err := k.svc.cache.List(ctx, list, client.InNamespace(cluster)); err != nil {
		return nil, fmt.Errorf("listing ManifestWorks from the cache: %w", err)
	}
	return encodeAll(pointers(list.Items), ce.ActionResyncResponse, k.svc.enc.ManifestWork)
}

func (k *manifestWorks) registerPusher(ctx context.Context, reg ce.Registration) error {
	p := &pusher[*workv1.ManifestWork]{
		svc: k.svc, reg: reg, encode: k.svc.enc.ManifestWork,
		worthPushing: workSpecChanged,
		tombstone:    tombstoneWith[*workv1.ManifestWork](k.svc),
	}
	return p.register(ctx, &workv1.ManifestWork{})
}

// workSpecChanged is true for updates an agent must see (protocol.md 4.1): labels, annotations
// or generation changed, or the work is being deleted. Status writes, which the agents cause
// themselves, are not sent back to them.
func workSpecChanged(old, cur *workv1.ManifestWork) bool {
	return cur.DeletionTimestamp != nil ||
		cur.Generation != old.Generation ||
		!maps.Equal(cur.Labels, old.Labels) ||
		!maps.Equal(cur.Annotations, old.Annotations)
}

// indexWorks lets status updates find works by UID; called before the cache starts.
func (s *Service) indexWorks(ctx context.Context) error {
	err := s.cache.IndexField(ctx, &workv1.ManifestWork{}, workUIDIndex, func(obj client.Object) []string {
		return []string{string(obj.GetUID())}
	})
	if err != nil {
		return fmt.Errorf("workservice: indexing ManifestWorks by UID: %w", err)
	}
	return nil
}
