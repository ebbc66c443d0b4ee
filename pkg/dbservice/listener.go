package dbservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5"
)

// listener keeps a dedicated connection LISTENing on one channel and re-establishes it, with
// exponential backoff, whenever it is lost. PostgreSQL does not queue notifications for a
// disconnected listener, so onListening runs after every successful LISTEN: that is where the
// caller scans for what it may have missed.
type listener struct {
	connConfig   *pgx.ConnConfig
	channel      string
	onNotify     func(payload string, at time.Time)
	onListening  func()
	onReconnect  func()
	pingInterval time.Duration // silence after which the connection is checked
	logger       *slog.Logger
}

func (l *listener) run(ctx context.Context) {
	connected := false
	for ctx.Err() == nil {
		conn, err := backoff.Retry(ctx, func() (*pgx.Conn, error) { return l.listen(ctx) },
			backoff.WithBackOff(newReconnectBackOff()),
			backoff.WithMaxElapsedTime(0), // never give up: the database may be away for a long time
			backoff.WithNotify(func(err error, next time.Duration) {
				l.logger.Warn("LISTEN connection failed, retrying", "channel", l.channel, "retryIn", next, "error", err)
			}))
		if err != nil {
			return // only ctx ends Retry
		}
		if connected {
			l.onReconnect()
			l.logger.Info("LISTEN connection re-established", "channel", l.channel)
		}
		connected = true
		l.onListening()
		err = l.receive(ctx, conn)
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
		if ctx.Err() == nil {
			l.logger.Warn("LISTEN connection lost", "channel", l.channel, "error", err)
		}
	}
}

func newReconnectBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	return b
}

func (l *listener) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.connConfig)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("LISTEN %s: %w", l.channel, err)
	}
	return conn, nil
}

// receive delivers notifications until the connection fails or ctx ends. A quiet connection is
// pinged now and then, so a silently dead one (no FIN from a vanished server) is noticed too.
func (l *listener) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, l.pingInterval)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			l.onNotify(n.Payload, time.Now())
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pingCtx, cancel := context.WithTimeout(ctx, l.pingInterval)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return err
		}
	}
}
