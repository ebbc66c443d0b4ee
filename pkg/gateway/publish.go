package gateway

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
)

// Publish implements CloudEventService: decode -> validate -> authorize -> route -> NATS request.
// It returns only after the backend has committed the change.
func (s *service) Publish(ctx context.Context, req *pbv1.PublishRequest) (*emptypb.Empty, error) {
	p, err := parsePublish(req, s.g.maxEventBytes())
	if err != nil {
		err = invalidArgument(err)
		s.g.finishPublish(ctx, p, false, err)
		return nil, err
	}
	err = s.g.publish(ctx, p)
	s.g.finishPublish(ctx, p, true, err)
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// natsDefaultMaxPayload is the NATS server's default max_payload, assumed until the first
// connection tells the real limit.
const natsDefaultMaxPayload = 1 << 20

// maxEventBytes is the largest event the bus carries.
func (g *Gateway) maxEventBytes() int64 {
	if limit := g.opts.NATS.MaxPayload(); limit > 0 {
		return limit
	}
	return natsDefaultMaxPayload
}

func (g *Gateway) publish(ctx context.Context, p publishRequest) error {
	id, _ := auth.IdentityFrom(ctx)
	attrs, err := auth.PublishAttributes(id, p.cluster, p.typ, p.event.Data())
	if err == nil {
		err = g.opts.Authorizer.Authorize(ctx, attrs)
	}
	if err != nil {
		return authError(err)
	}
	if p.versions != nil {
		return g.resync(ctx, p, id)
	}
	originalSource, _ := cloudevents.OriginalSource(p.event) // absent is "", checked by parsePublish
	backend, err := p.reg.BackendFor(originalSource)
	if err != nil {
		return invalidArgument(err)
	}
	reply, err := g.request(ctx, backend, p, id)
	if err != nil {
		return requestError(err)
	}
	return replyError(reply)
}

// request sends the event to one backend and records the latency.
func (g *Gateway) request(ctx context.Context, backend cloudevents.Backend, p publishRequest, id auth.Identity) (bus.Reply, error) {
	subject, err := bus.RequestSubject(bus.Backend(backend), p.cluster, p.reg.Key)
	if err != nil {
		return bus.Reply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, g.opts.RequestTimeout)
	defer cancel()
	start := time.Now()
	reply, err := bus.SendRequest(ctx, g.opts.NATS, subject, p.event, bus.Identity(id))
	result := resultOK
	switch {
	case err != nil:
		result = resultOf(requestError(err))
	case !reply.OK():
		result = resultFailed
	}
	g.metrics.observeRequest(backend, p.reg.DataType, result, start)
	return reply, err
}

// finishPublish counts and logs one Publish; known says whether p was parsed.
func (g *Gateway) finishPublish(ctx context.Context, p publishRequest, known bool, err error) {
	dataType, action := typeLabels(p.typ, known)
	result := resultOf(err)
	g.metrics.received.WithLabelValues(dataType, action, result).Inc()
	if err == nil {
		return
	}
	level := slog.LevelInfo
	if c := status.Code(err); c == codes.Unavailable || c == codes.Internal {
		level = slog.LevelWarn
	}
	attrs := []any{"result", result, "error", status.Convert(err).Message()}
	if known {
		attrs = append(attrs, "cluster", p.cluster, "dataType", p.reg.DataType, "action", p.typ.Action, "eventID", p.event.ID())
	}
	g.opts.Logger.Log(ctx, level, "publish failed", attrs...)
}
