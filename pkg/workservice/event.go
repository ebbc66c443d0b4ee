package workservice

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// events records agents' Kubernetes events on the hub. Agents publish them without subscribing,
// so nothing is watched or pushed.
type events struct{ svc *Service }

func (k *events) handle(ctx context.Context, r request) error {
	evt := &eventsv1.Event{}
	if err := codec.Decode(r.event, evt); err != nil {
		return err
	}
	if err := sameCluster(r, "Event "+evt.Name, evt.Namespace); err != nil {
		return err
	}
	if r.typ.Subresource != ce.SubresourceSpec {
		return unsupported(r)
	}
	client := k.svc.kube.EventsV1().Events(evt.Namespace)
	switch r.typ.Action {
	case ce.ActionCreateRequest:
		_, err := client.Create(ctx, evt, metav1.CreateOptions{})
		return err
	case ce.ActionUpdateRequest:
		// An agent updates an event only to count a repetition: only the series is copied.
		stored, err := client.Get(ctx, evt.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		stored.Series = evt.Series
		_, err = client.Update(ctx, stored, metav1.UpdateOptions{})
		return err
	}
	return unsupported(r)
}

func (k *events) list(context.Context, string) ([]event.Event, error) {
	return nil, apierrors.NewMethodNotSupported(eventsv1.Resource("events"), "list")
}
