package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"
	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// StreamOptions configures one agent stream of one data type.
type StreamOptions struct {
	ClusterName string
	// Source is the agent's CloudEvents source, e.g. "cluster1-work-agent".
	Source   string
	DataType cloudevents.DataType
	// InitialBackoff is the first reconnect delay; the real client waits 5-10 s, tests want less.
	InitialBackoff time.Duration
	// MaxBackoff caps the reconnect delay.
	MaxBackoff time.Duration
	Logger     *slog.Logger
}

// specHandler receives every non-heartbeat spec event of a stream.
type specHandler interface {
	handleSpec(ctx context.Context, evt cloudevent.Event)
	// resyncVersions lists the cached objects for the resync request sent after each subscribe.
	resyncVersions() []cloudevents.ResourceVersionEntry
}

// stream is Subscribe + resync + receive, reconnecting forever until ctx ends.
type stream struct {
	opts    StreamOptions
	client  pbv1.CloudEventServiceClient
	handler specHandler
	// subscribed is signalled (non-blocking) after every successful subscribe and resync.
	subscribed chan struct{}
}

func newStream(conn grpc.ClientConnInterface, opts StreamOptions, h specHandler) *stream {
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = 5 * time.Second
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &stream{opts: opts, client: pbv1.NewCloudEventServiceClient(conn), handler: h, subscribed: make(chan struct{}, 1)}
}

func (s *stream) run(ctx context.Context) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = s.opts.InitialBackoff
	bo.MaxInterval = s.opts.MaxBackoff
	for ctx.Err() == nil {
		connected, err := s.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			bo.Reset()
		}
		delay := bo.NextBackOff()
		s.opts.Logger.Info("stream ended, reconnecting", "cluster", s.opts.ClusterName, "dataType", s.opts.DataType, "err", err, "in", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
}

// runOnce reports whether the subscription got established, so backoff restarts after a good run.
func (s *stream) runOnce(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.client.Subscribe(ctx, &pbv1.SubscriptionRequest{ClusterName: s.opts.ClusterName, DataType: s.opts.DataType.String()})
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	header, err := sub.Header()
	if err != nil {
		return false, fmt.Errorf("subscribe header: %w", err)
	}
	if err := checkSubscriptionHeader(header); err != nil {
		_, recvErr := sub.Recv()
		return false, errors.Join(err, recvErr)
	}
	if err := s.resync(ctx); err != nil {
		return false, err
	}
	select {
	case s.subscribed <- struct{}{}:
	default:
	}
	for {
		msg, err := sub.Recv()
		if err != nil {
			return true, fmt.Errorf("receive: %w", err)
		}
		if cloudevents.IsHeartbeat(msg) {
			continue
		}
		evt, err := cloudevents.FromProto(msg)
		if err != nil {
			s.opts.Logger.Warn("dropping undecodable event", "err", err)
			continue
		}
		if !s.mine(evt) {
			continue
		}
		s.handler.handleSpec(ctx, evt)
	}
}

// checkSubscriptionHeader applies the sdk-go v2 transport rule: exactly one subscription-id value.
func checkSubscriptionHeader(md metadata.MD) error {
	if ids := md.Get("subscription-id"); len(ids) != 1 {
		return fmt.Errorf("subscription header has %d subscription-id values, want 1", len(ids))
	}
	return nil
}

// mine applies the agents' filter: events for another cluster or data type are ignored.
func (s *stream) mine(evt cloudevent.Event) bool {
	cluster, err := cloudevents.ClusterName(evt)
	if err != nil || cluster != s.opts.ClusterName {
		return false
	}
	t, err := cloudevents.EventTypeOf(evt)
	return err == nil && t.DataType == s.opts.DataType && t.Subresource == cloudevents.SubresourceSpec
}

func (s *stream) resync(ctx context.Context) error {
	evt := s.newEvent(cloudevents.SubresourceSpec, cloudevents.ActionResyncRequest)
	cloudevents.SetOriginalSource(&evt, "")
	body, err := json.Marshal(cloudevents.ResourceVersionList{ResourceVersions: s.handler.resyncVersions()})
	if err != nil {
		return err
	}
	if err := evt.SetData(cloudevent.ApplicationJSON, body); err != nil {
		return err
	}
	return s.publish(ctx, evt)
}

// newEvent builds an event the way sdk-go's event builder does: id, time, clustername.
func (s *stream) newEvent(sub cloudevents.Subresource, action cloudevents.Action) cloudevent.Event {
	evt := cloudevent.New()
	evt.SetID(uuid.NewString())
	evt.SetSource(s.opts.Source)
	evt.SetType(cloudevents.EventType{DataType: s.opts.DataType, Subresource: sub, Action: action}.String())
	evt.SetTime(time.Now())
	cloudevents.SetClusterName(&evt, s.opts.ClusterName)
	return evt
}

func (s *stream) publish(ctx context.Context, evt cloudevent.Event) error {
	msg, err := cloudevents.ToProto(evt)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", evt.Type(), err)
	}
	if _, err := s.client.Publish(ctx, &pbv1.PublishRequest{Event: msg}); err != nil {
		return fmt.Errorf("publish %s: %w", evt.Type(), err)
	}
	return nil
}
