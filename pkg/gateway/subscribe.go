package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/fanout"
)

// SubscriptionIDHeader is the response header current sdk-go clients wait for (exactly one value)
// before they treat a subscription as established.
const SubscriptionIDHeader = "subscription-id"

// Subscribe implements CloudEventService. Authorization comes first, so a denied subscription
// never gets the header; the header comes only after the NATS subscription is in place, so the
// agent's resync, sent when it sees the header, is always answered on this stream.
func (s *service) Subscribe(req *pbv1.SubscriptionRequest, stream pbv1.CloudEventService_SubscribeServer) error {
	ctx := stream.Context()
	reg, cluster, err := parseSubscription(req)
	if err != nil {
		return invalidArgument(err)
	}
	log := s.g.opts.Logger.With("cluster", cluster, "dataType", reg.DataType)
	id, _ := auth.IdentityFrom(ctx)
	attrs, err := auth.SubscribeAttributes(id, cluster, reg.DataType)
	if err == nil {
		err = s.g.opts.Authorizer.Authorize(ctx, attrs)
	}
	if err != nil {
		log.Info("subscribe refused", "user", id.User, "error", err)
		return authError(err)
	}
	sub, err := s.g.hub.Subscribe(ctx, cluster, reg)
	if err != nil {
		log.Warn("subscribe failed", "error", err)
		return status.Error(codes.Unavailable, err.Error())
	}
	defer sub.Close()
	streams := s.g.metrics.streams.WithLabelValues(string(reg.DataType))
	streams.Inc()
	defer streams.Dec()
	if err := stream.SendHeader(metadata.Pairs(SubscriptionIDHeader, uuid.NewString())); err != nil {
		return err
	}
	log.Debug("stream open", "user", id.User)
	err = s.g.serveStream(ctx, stream, sub)
	if endErr := sub.Err(); endErr != nil {
		log.Warn("stream ended by the gateway, the agent will reconnect and resync", "user", id.User, "reason", endErr)
	} else {
		log.Debug("stream closed", "error", err)
	}
	return err
}

// parseSubscription accepts agent subscriptions: a cluster and a served data type.
func parseSubscription(req *pbv1.SubscriptionRequest) (cloudevents.Registration, string, error) {
	if req.GetClusterName() == "" {
		return cloudevents.Registration{}, "", errors.New("cluster_name is required (only agent subscriptions are served)")
	}
	dt, err := cloudevents.ParseDataType(req.GetDataType())
	if err != nil {
		return cloudevents.Registration{}, "", err
	}
	reg, ok := cloudevents.Lookup(dt)
	if !ok {
		return cloudevents.Registration{}, "", fmt.Errorf("data type %q is not served", dt)
	}
	return reg, req.GetClusterName(), nil
}

// serveStream runs the send loop in its own goroutine and returns as soon as the stream must end,
// even while a Send is blocked on a client that stopped reading: returning ends the RPC, which
// unblocks that Send.
func (g *Gateway) serveStream(ctx context.Context, stream pbv1.CloudEventService_SubscribeServer, sub *fanout.Subscriber) error {
	sendErr := make(chan error, 1)
	go func() { sendErr <- g.sendLoop(ctx, stream, sub) }()
	select {
	case err := <-sendErr:
		return err
	case <-sub.Done():
		return status.Errorf(codes.Unavailable, "stream ended, reconnect and resync: %v", sub.Err())
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// sendLoop is the only goroutine sending on the stream: pushed events in order, and heartbeats.
func (g *Gateway) sendLoop(ctx context.Context, stream pbv1.CloudEventService_SubscribeServer, sub *fanout.Subscriber) error {
	heartbeat := time.NewTicker(g.opts.HeartbeatInterval)
	defer heartbeat.Stop()
	for {
		var msg *pbv1.CloudEvent
		select {
		case msg = <-sub.Events():
		case <-heartbeat.C:
			msg = cloudevents.NewHeartbeat()
		case <-sub.Done():
			return nil
		case <-ctx.Done():
			return nil
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}
