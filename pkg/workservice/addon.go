package workservice

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonv1alpha1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1alpha1"
	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// addOns serves ManagedClusterAddOns in one API version; each version has its own data type and
// informer, and writes go through the same version.
type addOns[T client.Object, L client.ObjectList] struct {
	svc       *Service
	newObject func() T
	newList   func() L
	items     func(L) []T
	encode    func(ce.Action, T) (event.Event, error)
}

func newAddOnsV1alpha1(s *Service) kind {
	return &addOns[*addonv1alpha1.ManagedClusterAddOn, *addonv1alpha1.ManagedClusterAddOnList]{
		svc:       s,
		newObject: func() *addonv1alpha1.ManagedClusterAddOn { return &addonv1alpha1.ManagedClusterAddOn{} },
		newList:   func() *addonv1alpha1.ManagedClusterAddOnList { return &addonv1alpha1.ManagedClusterAddOnList{} },
		items: func(l *addonv1alpha1.ManagedClusterAddOnList) []*addonv1alpha1.ManagedClusterAddOn {
			return pointers(l.Items)
		},
		encode: s.enc.AddOnV1alpha1,
	}
}

func newAddOnsV1beta1(s *Service) kind {
	return &addOns[*addonv1beta1.ManagedClusterAddOn, *addonv1beta1.ManagedClusterAddOnList]{
		svc:       s,
		newObject: func() *addonv1beta1.ManagedClusterAddOn { return &addonv1beta1.ManagedClusterAddOn{} },
		newList:   func() *addonv1beta1.ManagedClusterAddOnList { return &addonv1beta1.ManagedClusterAddOnList{} },
		items: func(l *addonv1beta1.ManagedClusterAddOnList) []*addonv1beta1.ManagedClusterAddOn {
			return pointers(l.Items)
		},
		encode: s.enc.AddOnV1beta1,
	}
}

func (k *addOns[T, L]) handle(ctx context.Context, r request) error {
	addon := k.newObject()
	if err := codec.Decode(r.event, addon); err != nil {
		return err
	}
	if err := sameCluster(r, "ManagedClusterAddOn "+addon.GetName(), addon.GetNamespace()); err != nil {
		return err
	}
	if r.typ.Subresource != ce.SubresourceStatus || r.typ.Action != ce.ActionUpdateRequest {
		return unsupported(r)
	}
	return k.svc.client.Status().Update(ctx, addon)
}

func (k *addOns[T, L]) list(ctx context.Context, cluster string) ([]event.Event, error) {
	list := k.newList()
	if err := k.svc.cache.List(ctx, list, client.InNamespace(cluster)); err != nil {
		return nil, fmt.Errorf("listing ManagedClusterAddOns from the cache: %w", err)
	}
	return encodeAll(k.items(list), ce.ActionResyncResponse, k.encode)
}

func (k *addOns[T, L]) registerPusher(ctx context.Context, reg ce.Registration) error {
	p := &pusher[T]{svc: k.svc, reg: reg, encode: k.encode, tombstone: tombstoneWith[T](k.svc)}
	return p.register(ctx, k.newObject())
}

// pointers returns pointers to the elements of items, as informer handlers and encoders take them.
func pointers[E any](items []E) []*E {
	out := make([]*E, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// encodeAll encodes every object with action.
func encodeAll[T any](objs []T, action ce.Action, encode func(ce.Action, T) (event.Event, error)) ([]event.Event, error) {
	evts := make([]event.Event, 0, len(objs))
	for _, obj := range objs {
		evt, err := encode(action, obj)
		if err != nil {
			return nil, err
		}
		evts = append(evts, evt)
	}
	return evts, nil
}
