package workservice

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// push publishes a finished spec event to its cluster's push subject.
func (s *Service) push(reg ce.Registration, evt event.Event) {
	action := "invalid"
	if t, err := ce.EventTypeOf(evt); err == nil {
		action = string(t.Action)
	}
	err := s.publish(reg, evt)
	s.metrics.observePush(reg.Key, action, err)
	if err != nil {
		s.log.Error("push failed", slog.String("dataType", string(reg.DataType)),
			slog.String("eventID", evt.ID()), slog.String("type", evt.Type()), slog.Any("error", err))
	}
}

func (s *Service) publish(reg ce.Registration, evt event.Event) error {
	cluster, err := ce.ClusterName(evt)
	if err != nil {
		return err
	}
	subject, err := bus.PushSubject(cluster, reg.Key)
	if err != nil {
		return err
	}
	return bus.Publish(s.nc, subject, evt)
}

// pusher turns informer notifications for one resource type into push events.
type pusher[T client.Object] struct {
	svc    *Service
	reg    ce.Registration
	encode func(ce.Action, T) (event.Event, error)
	// worthPushing decides whether an update is sent; nil sends every new resourceVersion.
	worthPushing func(old, cur T) bool
	// tombstone prepares a deleted object; nil means deletions are not pushed.
	tombstone func(T) T
}

var _ toolscache.ResourceEventHandler = (*pusher[client.Object])(nil)

// OnAdd pushes objects created after the initial list; agents get the initial state by resync.
func (p *pusher[T]) OnAdd(obj any, isInInitialList bool) {
	if isInInitialList {
		return
	}
	cur, ok := obj.(T)
	if !ok {
		p.unexpected(obj)
		return
	}
	p.svc.metrics.observeLag(p.reg.Key, cur)
	p.send(ce.ActionCreateRequest, cur)
}

// OnUpdate pushes real changes. Informer resyncs deliver the same resourceVersion again; agents
// have that state already.
func (p *pusher[T]) OnUpdate(oldObj, newObj any) {
	old, okOld := oldObj.(T)
	cur, okCur := newObj.(T)
	if !okOld || !okCur {
		p.unexpected(newObj)
		return
	}
	if old.GetResourceVersion() == cur.GetResourceVersion() {
		return
	}
	p.svc.metrics.observeLag(p.reg.Key, cur)
	if p.worthPushing != nil && !p.worthPushing(old, cur) {
		return
	}
	p.send(ce.ActionUpdateRequest, cur)
}

// OnDelete pushes a tombstone, also for deletions the informer only learnt of by relisting.
func (p *pusher[T]) OnDelete(obj any) {
	if p.tombstone == nil {
		return
	}
	if unknown, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = unknown.Obj
	}
	cur, ok := obj.(T)
	if !ok {
		p.unexpected(obj)
		return
	}
	p.send(ce.ActionDeleteRequest, p.tombstone(cur))
}

func (p *pusher[T]) send(action ce.Action, obj T) {
	evt, err := p.encode(action, obj)
	if err != nil {
		p.svc.metrics.observePush(p.reg.Key, string(action), err)
		p.svc.log.Error("cannot encode push", slog.String("dataType", string(p.reg.DataType)),
			slog.String("namespace", obj.GetNamespace()), slog.String("name", obj.GetName()), slog.Any("error", err))
		return
	}
	p.svc.push(p.reg, evt)
}

func (p *pusher[T]) unexpected(obj any) {
	p.svc.log.Error("informer delivered an unexpected object", slog.String("dataType", string(p.reg.DataType)),
		slog.String("type", fmt.Sprintf("%T", obj)))
}

// register adds p to the shared informer of prototype's type.
func (p *pusher[T]) register(ctx context.Context, prototype T) error {
	informer, err := p.svc.cache.GetInformer(ctx, prototype)
	if err != nil {
		return fmt.Errorf("workservice: informer for %s: %w", p.reg.DataType, err)
	}
	if _, err := informer.AddEventHandler(p); err != nil {
		return fmt.Errorf("workservice: watching %s: %w", p.reg.DataType, err)
	}
	return nil
}

// lastWrite is when obj was last written, as far as its managed fields tell (second precision),
// or zero.
func lastWrite(obj client.Object) time.Time {
	var latest time.Time
	for _, mf := range obj.GetManagedFields() {
		if mf.Time != nil && mf.Time.After(latest) {
			latest = mf.Time.Time
		}
	}
	return latest
}

// tombstoneWith returns a tombstone function using the service's clock.
func tombstoneWith[T client.Object](s *Service) func(T) T {
	return func(obj T) T { return codec.Tombstone(s.enc, obj) }
}
