package fanout

import (
	"errors"
	"sync"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

var (
	// ErrSlowSubscriber ends a subscriber whose queue was full: it fell behind.
	ErrSlowSubscriber = errors.New("subscriber fell behind")
	// ErrEventsLost ends subscribers that may have missed events (NATS connection lost or NATS
	// client dropped messages).
	ErrEventsLost = errors.New("events may have been lost")
	// ErrHubClosed ends subscribers when the hub shuts down, and refuses new ones.
	ErrHubClosed = errors.New("gateway shutting down")
)

// Offer outcomes reported to the Observer.
const (
	OutcomeQueued    = "queued"
	OutcomeDuplicate = "duplicate"
	OutcomeOverflow  = "overflow"
)

// Subscriber is one Subscribe stream's share of a hub topic.
type Subscriber struct {
	Cluster      string
	Registration cloudevents.Registration

	hub   *Hub
	topic *topic
	queue chan *pbv1.CloudEvent

	mu     sync.Mutex // serializes offers: dedup state and the ended check
	dedup  *Dedup
	ended  bool
	err    error
	done   chan struct{}
	closed sync.Once
}

func newSubscriber(h *Hub, t *topic) *Subscriber {
	return &Subscriber{
		Cluster:      t.cluster,
		Registration: t.reg,
		hub:          h,
		topic:        t,
		queue:        make(chan *pbv1.CloudEvent, h.opts.QueueSize),
		dedup:        NewDedup(h.opts.TombstoneTTL, nil),
		done:         make(chan struct{}),
	}
}

// Events delivers the events to send, in bus order. The messages are shared with other
// subscribers and must not be modified.
func (s *Subscriber) Events() <-chan *pbv1.CloudEvent { return s.queue }

// Done is closed when the hub ended the subscriber; Err says why.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err is the reason the subscriber was ended (nil while it is not).
func (s *Subscriber) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close unregisters the subscriber; the last one of a topic unsubscribes from NATS. It is
// idempotent and must be called once the stream ends.
func (s *Subscriber) Close() {
	s.closed.Do(func() {
		s.end(nil)
		s.hub.remove(s)
	})
}

// offer queues msg unless the subscriber already forwarded that state, never blocking: a full
// queue ends the subscriber.
func (s *Subscriber) offer(msg *pbv1.CloudEvent, state State) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return ""
	}
	if !s.dedup.Admit(state) {
		return OutcomeDuplicate
	}
	select {
	case s.queue <- msg:
		return OutcomeQueued
	default:
		s.endLocked(ErrSlowSubscriber)
		return OutcomeOverflow
	}
}

// end stops deliveries to s and records why (nil for a normal close).
func (s *Subscriber) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(err)
}

func (s *Subscriber) endLocked(err error) {
	if s.ended {
		return
	}
	s.ended, s.err = true, err
	close(s.done)
	if err != nil {
		s.hub.opts.Observer.SubscriberEnded(s.Registration.DataType, err)
	}
}
