package workservice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// request is an agent event as a data type handler sees it, validated against its subject.
type request struct {
	reg      ce.Registration
	cluster  string
	typ      ce.EventType
	event    event.Event
	identity bus.Identity
}

// kind is one served data type.
type kind interface {
	// handle applies an agent's create, update or status event to the hub.
	handle(ctx context.Context, r request) error
	// list returns the cluster's objects as resync_response events, from the informer cache.
	list(ctx context.Context, cluster string) ([]event.Event, error)
}

// handle is the bus handler: it answers one request.
func (s *Service) handle(ctx context.Context, req bus.Request) bus.Reply {
	start := time.Now()
	r, err := s.parse(req)
	var reply bus.Reply
	if err != nil {
		reply = replyError(err)
	} else if r.typ.Action == ce.ActionResyncRequest {
		reply = s.resync(ctx, r)
	} else {
		reply = replyError(s.kinds[r.reg.Key].handle(ctx, r))
	}
	s.metrics.observeRequest(s.keyLabel(req.Key), actionLabel(r.typ), reply, time.Since(start))
	return reply
}

// parse checks that the event belongs to the subject it came on and names a served data type.
func (s *Service) parse(req bus.Request) (request, error) {
	reg, ok := ce.LookupKey(req.Key)
	if _, served := s.kinds[req.Key]; !ok || !served {
		return request{}, badRequest("data type key %q is not served by work-service", req.Key)
	}
	typ, err := ce.EventTypeOf(req.Event)
	if err != nil {
		return request{}, badRequest("%v", err)
	}
	if typ.DataType != reg.DataType {
		return request{}, badRequest("event type %s does not belong on subject key %q", req.Event.Type(), req.Key)
	}
	cluster, err := ce.ClusterName(req.Event)
	if err != nil {
		return request{}, badRequest("%v", err)
	}
	if cluster != req.Cluster {
		return request{}, badRequest("event cluster %q does not match subject cluster %q", cluster, req.Cluster)
	}
	return request{reg: reg, cluster: cluster, typ: typ, event: req.Event, identity: req.Identity}, nil
}

// keyLabel bounds the metric label values to the served keys.
func (s *Service) keyLabel(key string) string {
	if _, ok := s.kinds[key]; ok {
		return key
	}
	return "unknown"
}

func actionLabel(t ce.EventType) string {
	if t.Action == "" {
		return "invalid"
	}
	return string(t.Subresource) + "." + string(t.Action)
}

// replyError maps handler errors: malformed data is BadRequest, API errors keep their status,
// anything else is an InternalError.
func replyError(err error) bus.Reply {
	if errors.Is(err, codec.ErrMalformed) {
		return bus.ReplyStatus(&apierrors.NewBadRequest(err.Error()).ErrStatus)
	}
	return bus.ReplyError(err)
}

func badRequest(format string, args ...any) error {
	return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
}

func unsupported(r request) error {
	return badRequest("unsupported action %s for data type %s", actionLabel(r.typ), r.reg.DataType)
}

// sameCluster rejects objects outside the event's cluster: the gateway authorized the agent for
// that cluster only.
func sameCluster(r request, what, objectCluster string) error {
	if objectCluster != r.cluster {
		return badRequest("%s belongs to cluster %q, the event to cluster %q", what, objectCluster, r.cluster)
	}
	return nil
}

// reasonOf names the outcome of a reply for metrics.
func reasonOf(reply bus.Reply) string {
	st := bus.StatusFromReply(reply)
	if st == nil {
		return "OK"
	}
	if st.Reason == metav1.StatusReasonUnknown {
		return fmt.Sprintf("Code%d", st.Code)
	}
	return string(st.Reason)
}
