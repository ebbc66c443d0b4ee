package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// Defaults of Options.
const (
	// DefaultQueueSize holds a whole resync answer of a large cluster (every work pushed at once)
	// while the stream drains it, so that only a subscriber that really stalls is dropped.
	DefaultQueueSize        = 1024
	DefaultSubscribeTimeout = 5 * time.Second
)

// Observer receives the hub's counts, e.g. for metrics. Calls must not block.
type Observer interface {
	// EventOffered reports one pushed event offered to one subscriber with an Outcome* result.
	EventOffered(dt cloudevents.DataType, outcome string)
	// EventDropped reports a pushed message not delivered to anyone (reason: "malformed",
	// "mismatch").
	EventDropped(subject, reason string)
	// SubscriberEnded reports a subscriber ended by the hub, with the reason.
	SubscriberEnded(dt cloudevents.DataType, reason error)
}

type nopObserver struct{}

func (nopObserver) EventOffered(cloudevents.DataType, string)   {}
func (nopObserver) EventDropped(string, string)                 {}
func (nopObserver) SubscriberEnded(cloudevents.DataType, error) {}

// Options configures a Hub. The zero value is usable.
type Options struct {
	// QueueSize is the per-subscriber queue length (default DefaultQueueSize).
	QueueSize int
	// SubscribeTimeout bounds creating and flushing a NATS subscription.
	SubscribeTimeout time.Duration
	// TombstoneTTL is how long each subscriber remembers forwarded deletions.
	TombstoneTTL time.Duration
	Logger       *slog.Logger
	Observer     Observer
}

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.SubscribeTimeout <= 0 {
		o.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	return o
}

// Hub shares NATS push subscriptions among the Subscribe streams of one gateway.
type Hub struct {
	nc   *nats.Conn
	opts Options

	mu     sync.Mutex
	topics map[string]*topic // by push subject
	closed bool
}

// topic is one NATS subscription and its local subscribers.
type topic struct {
	subject string
	cluster string
	reg     cloudevents.Registration

	ready chan struct{} // closed when sub and err are set
	sub   *nats.Subscription
	err   error

	mu          sync.RWMutex
	subscribers map[*Subscriber]struct{}
}

// NewHub returns a hub subscribing on nc. Wire ConnectionLost and AsyncError into nc's handlers
// so streams end when events may have been lost.
func NewHub(nc *nats.Conn, opts Options) *Hub {
	return &Hub{nc: nc, opts: opts.withDefaults(), topics: map[string]*topic{}}
}

// Subscribe registers a subscriber for the pushes of (cluster, data type). It returns once the
// NATS server knows the subscription, so every event pushed from then on reaches the subscriber.
func (h *Hub) Subscribe(ctx context.Context, cluster string, reg cloudevents.Registration) (*Subscriber, error) {
	subject, err := bus.PushSubject(cluster, reg.Key)
	if err != nil {
		return nil, err
	}
	if !h.nc.IsConnected() {
		return nil, fmt.Errorf("%w: not connected to NATS", ErrEventsLost)
	}
	t, s, created, err := h.register(subject, cluster, reg)
	if err != nil {
		return nil, err
	}
	if created {
		h.open(t)
	}
	select {
	case <-t.ready:
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	if t.err != nil {
		s.Close()
		return nil, t.err
	}
	return s, nil
}

// register adds a subscriber to the topic of subject, creating the topic if needed.
func (h *Hub) register(subject, cluster string, reg cloudevents.Registration) (*topic, *Subscriber, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, false, ErrHubClosed
	}
	t, ok := h.topics[subject]
	if !ok {
		t = &topic{subject: subject, cluster: cluster, reg: reg, ready: make(chan struct{}),
			subscribers: map[*Subscriber]struct{}{}}
		h.topics[subject] = t
	}
	s := newSubscriber(h, t)
	t.mu.Lock()
	t.subscribers[s] = struct{}{}
	t.mu.Unlock()
	return t, s, !ok, nil
}

// open subscribes t on NATS and waits for the server to confirm. On failure the topic is
// dropped, so that a later Subscribe tries again.
func (h *Hub) open(t *topic) {
	defer close(t.ready)
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.SubscribeTimeout)
	defer cancel()
	sub, err := h.nc.Subscribe(t.subject, func(msg *nats.Msg) { h.deliver(t, msg) })
	if err == nil {
		if err = h.nc.FlushWithContext(ctx); err != nil {
			_ = sub.Unsubscribe()
		}
	}
	if err != nil {
		t.err = fmt.Errorf("%w: subscribing to %s: %w", ErrEventsLost, t.subject, err)
		h.mu.Lock()
		if h.topics[t.subject] == t {
			delete(h.topics, t.subject)
		}
		h.mu.Unlock()
		return
	}
	t.sub = sub
}

// remove unregisters s and unsubscribes its topic when it was the last subscriber.
func (h *Hub) remove(s *Subscriber) {
	t := s.topic
	h.mu.Lock()
	t.mu.Lock()
	delete(t.subscribers, s)
	empty := len(t.subscribers) == 0
	t.mu.Unlock()
	if empty && h.topics[t.subject] == t {
		delete(h.topics, t.subject)
	} else {
		empty = false
	}
	h.mu.Unlock()
	if !empty {
		return
	}
	<-t.ready // the creator is done with the subscription (it closes ready in every case)
	if t.sub != nil {
		if err := t.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			h.opts.Logger.Warn("fanout: unsubscribe failed", "subject", t.subject, "error", err)
		}
	}
}

// deliver runs on the NATS subscription's goroutine, so messages of one topic arrive in order.
func (h *Hub) deliver(t *topic, msg *nats.Msg) {
	pb, state, ok := h.decode(t, msg)
	if !ok {
		return
	}
	for _, s := range t.snapshot() {
		if outcome := s.offer(pb, state); outcome != "" {
			h.opts.Observer.EventOffered(t.reg.DataType, outcome)
		}
	}
}

// decode turns a pushed message into the agent wire form once for all subscribers. Events that
// do not belong to the topic's cluster and data type are dropped: agents would ignore them.
func (h *Hub) decode(t *topic, msg *nats.Msg) (*pbv1.CloudEvent, State, bool) {
	evt, err := bus.EventFromMsg(msg)
	if err == nil {
		err = checkBelongs(*evt, t)
	}
	if err != nil {
		h.opts.Logger.Warn("fanout: dropping pushed message", "subject", msg.Subject, "error", err)
		h.opts.Observer.EventDropped(msg.Subject, "malformed")
		return nil, State{}, false
	}
	pb, err := cloudevents.ToProto(*evt)
	if err != nil {
		h.opts.Logger.Warn("fanout: dropping pushed event", "subject", msg.Subject, "eventID", evt.ID(), "error", err)
		h.opts.Observer.EventDropped(msg.Subject, "malformed")
		return nil, State{}, false
	}
	return pb, StateOf(*evt, t.reg.ResourceVersion), true
}

// ConnectionLost ends every subscriber: events published while the connection was down are gone.
// New subscriptions are accepted again once the connection is back.
func (h *Hub) ConnectionLost() {
	h.endAll(ErrEventsLost)
}

// AsyncError handles the NATS connection's asynchronous errors; a slow-consumer error means the
// NATS client dropped messages of that subscription, so its subscribers end.
func (h *Hub) AsyncError(sub *nats.Subscription, err error) {
	if sub == nil || !errors.Is(err, nats.ErrSlowConsumer) {
		return
	}
	h.mu.Lock()
	t := h.topics[sub.Subject]
	h.mu.Unlock()
	if t == nil {
		return
	}
	select {
	case <-t.ready:
	default:
		return // still opening; t.sub is not set yet
	}
	if t.sub != sub {
		return
	}
	h.opts.Logger.Warn("fanout: NATS dropped pushed events, ending streams", "subject", sub.Subject)
	for _, s := range t.snapshot() {
		s.end(ErrEventsLost)
	}
}

// Close ends every subscriber with ErrHubClosed and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.endAll(ErrHubClosed)
}

// Topics is the number of NATS subscriptions held.
func (h *Hub) Topics() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}

func (h *Hub) endAll(err error) {
	h.mu.Lock()
	topics := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	h.mu.Unlock()
	for _, t := range topics {
		for _, s := range t.snapshot() {
			s.end(err)
		}
	}
}

func (t *topic) snapshot() []*Subscriber {
	t.mu.RLock()
	defer t.mu.RUnlock()
	subscribers := make([]*Subscriber, 0, len(t.subscribers))
	for s := range t.subscribers {
		subscribers = append(subscribers, s)
	}
	return subscribers
}

// checkBelongs verifies the event is for the topic's cluster and data type.
func checkBelongs(evt event.Event, t *topic) error {
	cluster, err := cloudevents.ClusterName(evt)
	if err != nil {
		return err
	}
	if cluster != t.cluster {
		return fmt.Errorf("event for cluster %q on the subject of cluster %q", cluster, t.cluster)
	}
	et, err := cloudevents.EventTypeOf(evt)
	if err != nil {
		return err
	}
	if et.DataType != t.reg.DataType {
		return fmt.Errorf("event of data type %q on the subject of %q", et.DataType, t.reg.DataType)
	}
	return nil
}
