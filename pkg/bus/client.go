package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// ErrUnavailable marks request failures where no backend answered (no responders, timeout, or
// no NATS connection). The gateway maps it to gRPC Unavailable so the agent retries. Test with
// errors.Is; the underlying NATS or context error is wrapped too.
var ErrUnavailable = errors.New("bus: backend unavailable")

// DefaultRequestTimeout bounds a SendRequest whose context has no deadline.
const DefaultRequestTimeout = 30 * time.Second

// SendRequest sends evt with the agent identity to a request subject and waits for the reply.
// A failure reply (Reply.OK false) is not an error; errors are transport or encoding failures.
func SendRequest(ctx context.Context, nc *nats.Conn, subject string, evt event.Event, id Identity) (Reply, error) {
	msg, err := EventToMsg(subject, evt)
	if err != nil {
		return Reply{}, err
	}
	id.writeTo(msg.Header)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultRequestTimeout)
		defer cancel()
	}
	resp, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return Reply{}, classifyRequestError(subject, err)
	}
	reply, err := DecodeReply(resp.Data)
	if err != nil {
		return Reply{}, fmt.Errorf("bus: request %s: %w", subject, err)
	}
	return reply, nil
}

// classifyRequestError wraps the errors that mean "nobody answered" with ErrUnavailable.
// Cancellation by the caller is not unavailability and is returned as is.
func classifyRequestError(subject string, err error) error {
	unavailable := []error{
		nats.ErrNoResponders, nats.ErrTimeout, context.DeadlineExceeded,
		nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrDisconnected,
		nats.ErrReconnectBufExceeded, nats.ErrInvalidConnection,
	}
	for _, target := range unavailable {
		if errors.Is(err, target) {
			return fmt.Errorf("%w: request %s: %w", ErrUnavailable, subject, err)
		}
	}
	return fmt.Errorf("bus: request %s: %w", subject, err)
}

// Publish sends evt (binary mode) to a push subject. Delivery is at most once, as core NATS is.
func Publish(nc *nats.Conn, subject string, evt event.Event) error {
	msg, err := EventToMsg(subject, evt)
	if err != nil {
		return err
	}
	if err := nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("bus: publish %s: %w", subject, err)
	}
	return nil
}
