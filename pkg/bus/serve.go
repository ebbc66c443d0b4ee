package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// Request is one decoded request as a backend handler sees it.
type Request struct {
	Backend  Backend
	Cluster  string // unescaped, from the subject
	Key      string // data type key, from the subject
	Event    event.Event
	Identity Identity
}

// Handler answers one request. Its context ends after ServeOptions.HandlerTimeout; it is not
// cancelled when Serve's context is, so in-flight work finishes during a drain.
type Handler func(ctx context.Context, req Request) Reply

// ServeOptions tunes Serve. The zero value is usable.
type ServeOptions struct {
	// MaxConcurrent is the number of requests handled at once (default 64).
	MaxConcurrent int
	// HandlerTimeout bounds each handler call (default 30s).
	HandlerTimeout time.Duration
	// Logger receives one line per malformed message, failed reply or handler panic
	// (default slog.Default()).
	Logger *slog.Logger
	// OnReady, if set, is called once the subscription is known to the server, i.e. when
	// requests can reach this replica.
	OnReady func()
}

const (
	defaultMaxConcurrent  = 64
	defaultHandlerTimeout = 30 * time.Second
)

func (o ServeOptions) withDefaults() ServeOptions {
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = defaultMaxConcurrent
	}
	if o.HandlerTimeout <= 0 {
		o.HandlerTimeout = defaultHandlerTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Serve subscribes to subject in queue group queue and answers every request with handler
// until ctx ends. Each message with a reply subject is answered exactly once: malformed
// messages with a BadRequest status, handler panics with an InternalError status. On ctx
// cancellation the subscription is drained (no new messages; those already received are
// handled and answered) and Serve returns nil. If the subscription ends for another reason
// (connection closed) Serve returns an error after in-flight requests finished.
func Serve(ctx context.Context, nc *nats.Conn, subject, queue string, handler Handler, opts ServeOptions) error {
	opts = opts.withDefaults()
	sub, err := nc.QueueSubscribeSync(subject, queue)
	if err != nil {
		return fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	if err := flush(ctx, nc); err != nil {
		_ = sub.Unsubscribe()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	if opts.OnReady != nil {
		opts.OnReady()
	}
	s := &server{nc: nc, handler: handler, opts: opts, handlerCtx: context.WithoutCancel(ctx)}
	workersDone := make(chan error, 1)
	go func() { workersDone <- s.runWorkers(sub) }()
	select {
	case <-ctx.Done():
		if err := sub.Drain(); err != nil {
			// Without a drain the pending messages are dropped and the gateway sees a
			// timeout (Unavailable), which its agent retries.
			opts.Logger.Warn("bus: drain failed, unsubscribing", "subject", subject, "error", err)
			_ = sub.Unsubscribe()
		}
		<-workersDone
		return nil
	case err := <-workersDone:
		return fmt.Errorf("bus: serving %s stopped: %w", subject, err)
	}
}

// flushTimeout bounds the wait for the server to confirm a new subscription.
const flushTimeout = 10 * time.Second

// flush returns once the server has processed everything sent so far, so a subscription
// made before it receives the next request.
func flush(ctx context.Context, nc *nats.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	return nc.FlushWithContext(ctx)
}

type server struct {
	nc         *nats.Conn
	handler    Handler
	opts       ServeOptions
	handlerCtx context.Context
}

// runWorkers runs MaxConcurrent workers pulling from sub until it closes, and returns the
// error that ended the first worker.
func (s *server) runWorkers(sub *nats.Subscription) error {
	var wg sync.WaitGroup
	errs := make(chan error, s.opts.MaxConcurrent)
	for range s.opts.MaxConcurrent {
		wg.Go(func() { errs <- s.work(sub) })
	}
	wg.Wait()
	return <-errs
}

// work handles messages until the subscription is closed (drained, unsubscribed, or its
// connection closed).
func (s *server) work(sub *nats.Subscription) error {
	for {
		msg, err := sub.NextMsgWithContext(context.Background())
		if errors.Is(err, nats.ErrSlowConsumer) {
			// Messages were dropped by the client library; their requesters time out and retry.
			s.opts.Logger.Warn("bus: slow consumer, requests dropped", "subject", sub.Subject)
			continue
		}
		if err != nil {
			return err
		}
		s.answer(msg)
	}
}

// answer decodes, handles and replies to one message.
func (s *server) answer(msg *nats.Msg) {
	if msg.Reply == "" {
		s.opts.Logger.Warn("bus: message without reply subject dropped", "subject", msg.Subject)
		return
	}
	req, err := decodeRequest(msg)
	var reply Reply
	if err != nil {
		s.opts.Logger.Warn("bus: malformed request", "subject", msg.Subject, "error", err)
		reply = replyBadRequest(err)
	} else {
		reply = s.handle(req)
	}
	if err := s.respond(msg, reply); err != nil {
		s.opts.Logger.Warn("bus: reply failed", "subject", msg.Subject, "cluster", req.Cluster,
			"dataType", req.Key, "eventID", eventID(req.Event), "error", err)
	}
}

// eventID is the event's id, or "" for an event that was never decoded.
func eventID(evt event.Event) string {
	if evt.Context == nil {
		return ""
	}
	return evt.ID()
}

// handle calls the handler, turning a panic into an InternalError reply.
func (s *server) handle(req Request) (reply Reply) {
	ctx, cancel := context.WithTimeout(s.handlerCtx, s.opts.HandlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("bus: handler panic", "cluster", req.Cluster, "dataType", req.Key,
				"eventID", req.Event.ID(), "panic", p)
			reply = ReplyError(fmt.Errorf("handler panic: %v", p))
		}
	}()
	reply = s.handler(ctx, req)
	if st := StatusFromReply(reply); st != nil && st.Code >= http.StatusInternalServerError {
		s.opts.Logger.Warn("bus: request failed", "cluster", req.Cluster, "dataType", req.Key,
			"eventID", req.Event.ID(), "type", req.Event.Type(), "reason", st.Reason, "message", st.Message)
	}
	return reply
}

func (s *server) respond(msg *nats.Msg, reply Reply) error {
	body, err := EncodeReply(reply)
	if err != nil {
		return err
	}
	resp := nats.NewMsg(msg.Reply)
	resp.Header.Set(HeaderContentType, ReplyContentType)
	resp.Data = body
	return s.nc.PublishMsg(resp)
}

func decodeRequest(msg *nats.Msg) (Request, error) {
	subject, err := ParseSubject(msg.Subject)
	if err != nil {
		return Request{}, err
	}
	if subject.Kind != KindRequest {
		return Request{}, fmt.Errorf("bus: %s is not a request subject", msg.Subject)
	}
	req := Request{Backend: subject.Backend, Cluster: subject.Cluster, Key: subject.Key}
	evt, err := EventFromMsg(msg)
	if err != nil {
		return req, err
	}
	req.Event = *evt
	if req.Identity, err = identityFromHeader(msg.Header); err != nil {
		return req, err
	}
	return req, nil
}
