package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/fanout"
)

// Server-initiated keepalive, as the OCM server does: ping idle connections every 30 s and drop
// those that do not answer within 10 s.
const (
	keepaliveTime    = 30 * time.Second
	keepaliveTimeout = 10 * time.Second
)

// Gateway serves CloudEventService to agents and relays to the backends over NATS.
type Gateway struct {
	opts    Options
	hub     *fanout.Hub
	metrics *metrics
	server  *grpc.Server
}

// New builds a gateway; Serve starts it.
func New(opts Options) (*Gateway, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: opts, metrics: m}
	g.hub = fanout.NewHub(opts.NATS, fanout.Options{QueueSize: opts.QueueSize, Logger: opts.Logger, Observer: m})
	g.watchNATS()
	g.server = grpc.NewServer(g.serverOptions()...)
	pbv1.RegisterCloudEventServiceServer(g.server, &service{g: g})
	m.grpc.InitializeMetrics(g.server)
	return g, nil
}

func (g *Gateway) serverOptions() []grpc.ServerOption {
	unary := []grpc.UnaryServerInterceptor{g.metrics.grpc.UnaryServerInterceptor()}
	stream := []grpc.StreamServerInterceptor{g.metrics.grpc.StreamServerInterceptor()}
	if g.opts.Authenticator != nil {
		unary = append(unary, auth.UnaryServerInterceptor(g.opts.Authenticator))
		stream = append(stream, auth.StreamServerInterceptor(g.opts.Authenticator))
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(g.opts.MaxRecvMsgSize),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}
	if g.opts.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(g.opts.TLS)))
	}
	return opts
}

// watchNATS ends every stream when the connection drops: events published meanwhile are lost,
// and only the resync an agent sends after reconnecting catches it up.
func (g *Gateway) watchNATS() {
	nc, log := g.opts.NATS, g.opts.Logger
	nc.SetDisconnectErrHandler(func(_ *nats.Conn, err error) {
		log.Warn("NATS connection lost, ending all streams", "error", err)
		g.hub.ConnectionLost()
	})
	nc.SetReconnectHandler(func(c *nats.Conn) {
		log.Info("NATS connection restored", "url", c.ConnectedUrlRedacted())
	})
	nc.SetClosedHandler(func(*nats.Conn) {
		log.Warn("NATS connection closed, ending all streams")
		g.hub.ConnectionLost()
	})
	nc.SetErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		log.Warn("NATS error", "error", err)
		g.hub.AsyncError(sub, err)
	})
}

// Serve serves gRPC on lis until ctx ends, then shuts down gracefully: streams end with
// Unavailable (agents reconnect, possibly to another replica), in-flight Publish calls finish.
func (g *Gateway) Serve(ctx context.Context, lis net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- g.server.Serve(lis) }()
	g.opts.Logger.Info("serving CloudEventService", "addr", lis.Addr().String(), "tls", g.opts.TLS != nil)
	select {
	case err := <-errc:
		g.hub.Close()
		return fmt.Errorf("gateway: serving: %w", err)
	case <-ctx.Done():
	}
	g.shutdown()
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("gateway: serving: %w", err)
	}
	return nil
}

func (g *Gateway) shutdown() {
	g.opts.Logger.Info("shutting down: ending streams, draining requests")
	g.hub.Close()
	done := make(chan struct{})
	go func() {
		g.server.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(g.opts.ShutdownTimeout):
		g.opts.Logger.Warn("graceful shutdown timed out, closing connections")
		g.server.Stop()
		<-done
	}
}

// Ready is the readiness check: the gateway is useful only while connected to NATS.
func (g *Gateway) Ready(context.Context) error {
	if !g.opts.NATS.IsConnected() {
		return fmt.Errorf("NATS not connected (status %v)", g.opts.NATS.Status())
	}
	return nil
}
