package workservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// Options configures a Service.
type Options struct {
	// Kube reaches the hub kube-apiserver. Its QPS and Burst apply to every call.
	Kube *rest.Config
	// NATS is the bus connection. The caller owns it and closes it after Run returns.
	NATS *nats.Conn
	// Workers is the number of requests handled at once (default 64).
	Workers int
	// RequestTimeout bounds the handling of one request (default 30s).
	RequestTimeout time.Duration
	// Registerer receives the service metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service serves kube requests from the bus and pushes hub changes to it.
type Service struct {
	opts    Options
	log     *slog.Logger
	nc      *nats.Conn
	cache   cache.Cache
	client  client.Client        // OCM custom resources
	kube    kubernetes.Interface // core Kubernetes types
	enc     codec.Encoder
	metrics *metrics
	kinds   map[string]kind // by bus key

	synced  atomic.Bool
	serving atomic.Bool
}

// New builds a service; nothing talks to the API server or the bus until Run.
func New(opts Options) (*Service, error) {
	if opts.Kube == nil {
		return nil, errors.New("workservice: Options.Kube is required")
	}
	if opts.NATS == nil {
		return nil, errors.New("workservice: Options.NATS is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	hub, err := newHubClients(opts.Kube)
	if err != nil {
		return nil, err
	}
	s := &Service{
		opts:    opts,
		log:     opts.Logger,
		nc:      opts.NATS,
		cache:   hub.cache,
		client:  hub.client,
		kube:    hub.kube,
		metrics: m,
	}
	s.kinds = s.newKinds()
	return s, nil
}

// Run starts the informers, waits for them to sync, then serves requests until ctx ends. On
// return every request received was answered. Pushes go on until Run returns.
func (s *Service) Run(ctx context.Context) error {
	// The caches outlive ctx a little: requests being drained still read them.
	cacheCtx, stopCache := context.WithCancel(context.WithoutCancel(ctx))
	if err := s.registerPushers(cacheCtx); err != nil {
		stopCache()
		return err
	}
	cacheErr := make(chan error, 1)
	cacheDone := make(chan struct{})
	go func() {
		defer close(cacheDone)
		cacheErr <- s.cache.Start(cacheCtx)
	}()
	defer func() {
		stopCache()
		<-cacheDone
	}()

	if err := s.waitForSync(ctx, cacheErr); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("workservice: %w", err)
	}
	s.synced.Store(true)
	s.log.Info("informers synced, serving requests")

	err := bus.Serve(ctx, s.nc, bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService, s.handle, bus.ServeOptions{
		MaxConcurrent:  s.opts.Workers,
		HandlerTimeout: s.opts.RequestTimeout,
		Logger:         s.log,
		OnReady:        func() { s.serving.Store(true) },
	})
	s.serving.Store(false)
	if err != nil {
		return fmt.Errorf("workservice: %w", err)
	}
	return nil
}

// waitForSync waits until every informer has synced, ctx ends or the cache fails.
func (s *Service) waitForSync(ctx context.Context, cacheErr <-chan error) error {
	syncCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	synced := make(chan bool, 1)
	go func() { synced <- s.cache.WaitForCacheSync(syncCtx) }()
	select {
	case ok := <-synced:
		if !ok {
			return errors.New("informers did not sync")
		}
		return nil
	case err := <-cacheErr:
		return fmt.Errorf("informer cache stopped: %w", err)
	}
}

// Ready is the readiness check: NATS connected, informers synced and the request subscription
// in place.
func (s *Service) Ready(context.Context) error {
	switch {
	case !s.nc.IsConnected():
		return fmt.Errorf("NATS not connected (%s)", s.nc.Status())
	case !s.synced.Load():
		return errors.New("informers not synced")
	case !s.serving.Load():
		return errors.New("not subscribed to requests")
	}
	return nil
}
