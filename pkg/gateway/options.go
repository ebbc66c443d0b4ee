package gateway

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/fanout"
)

// Defaults of Options.
const (
	DefaultRequestTimeout    = 15 * time.Second
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultMaxRecvMsgSize    = 4 << 20
	DefaultShutdownTimeout   = 15 * time.Second
	// KeepaliveMinTime is the shortest client ping interval allowed; OCM clients may ping every 5 s.
	KeepaliveMinTime = 5 * time.Second
)

// Options configures a Gateway.
type Options struct {
	// NATS is the bus connection. Required. The gateway installs its disconnect, closed and
	// error handlers on it (a lost connection ends every stream).
	NATS *nats.Conn
	// TLS serves gRPC over TLS when set (see certs.ServingConfig); nil serves plaintext, for
	// development only.
	TLS *tls.Config
	// Authenticator identifies agents; nil disables authentication (development only).
	Authenticator auth.Authenticator
	// Authorizer decides each request; nil disables authorization (development only).
	Authorizer auth.Authorizer
	// RequestTimeout bounds each NATS request to a backend.
	RequestTimeout time.Duration
	// HeartbeatInterval is the time between heartbeats on every stream. OCM servers never use less
	// than 10 s; the command enforces that minimum, tests may go lower.
	HeartbeatInterval time.Duration
	// QueueSize is each stream's queue of pushed events (fanout.DefaultQueueSize).
	QueueSize int
	// MaxRecvMsgSize is the largest gRPC message accepted.
	MaxRecvMsgSize int
	// ShutdownTimeout bounds the graceful drain of in-flight requests.
	ShutdownTimeout time.Duration
	// Registerer receives the gateway's metrics; nil keeps them unexported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.NATS == nil {
		return o, errors.New("gateway: a NATS connection is required")
	}
	if o.Authorizer == nil {
		o.Authorizer = auth.AllowAll{}
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.QueueSize <= 0 {
		o.QueueSize = fanout.DefaultQueueSize
	}
	if o.MaxRecvMsgSize <= 0 {
		o.MaxRecvMsgSize = DefaultMaxRecvMsgSize
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
