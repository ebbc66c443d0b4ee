package dbservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// Options configures a Service.
type Options struct {
	// Pool is the connection pool on Maestro's database. The LISTEN connection is opened
	// separately with the same settings, so it never holds a pool slot.
	Pool *pgxpool.Pool
	// NATS is the connection to the conductor bus.
	NATS *nats.Conn
	// ScanPeriod is how often unreconciled events are rescanned besides at start-up and after
	// every listener reconnect. Default 1 minute.
	ScanPeriod time.Duration
	// PurgeReconciledAfter deletes events reconciled longer ago than this at each periodic scan,
	// as Maestro's spec sync does; 0 keeps them.
	PurgeReconciledAfter time.Duration
	// SpecWorkers is the number of events pushed concurrently. Default 4.
	SpecWorkers int
	// MaxConcurrentRequests bounds the bus requests (status writes, resyncs) handled at once.
	// Default: the bus default.
	MaxConcurrentRequests int
	// ListenerPingInterval is the silence after which the LISTEN connection is checked. Default 15 s.
	ListenerPingInterval time.Duration
	// PublishTimeout bounds the confirmation that a pushed spec event reached NATS. Default 5 s.
	PublishTimeout time.Duration
	// Registerer receives the metrics. Required.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Pool == nil || o.NATS == nil || o.Registerer == nil {
		return errors.New("dbservice: Pool, NATS and Registerer are required")
	}
	if o.ScanPeriod <= 0 {
		o.ScanPeriod = time.Minute
	}
	if o.SpecWorkers <= 0 {
		o.SpecWorkers = 4
	}
	if o.ListenerPingInterval <= 0 {
		o.ListenerPingInterval = 15 * time.Second
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// ListenerApplicationName is the application_name of the LISTEN connection, so operators can
// find it in pg_stat_activity.
const ListenerApplicationName = "db-service-listener"

// Service is the db-service: it answers maestro requests from the bus and pushes spec changes.
type Service struct {
	opts    Options
	store   *Store
	metrics *metrics
	pusher  *specPusher
	logger  *slog.Logger
}

// New builds a Service; Run starts it.
func New(opts Options) (*Service, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("dbservice: registering metrics: %w", err)
	}
	s := &Service{opts: opts, store: NewStore(opts.Pool), metrics: m, logger: opts.Logger}
	s.pusher = newSpecPusher(s.store, s.pushSpec, m, opts.Logger)
	return s, nil
}

// Store is the service's database access, for tests and tools.
func (s *Service) Store() *Store { return s.store }

// Ready reports whether the database answers and NATS is connected (for /readyz).
func (s *Service) Ready(ctx context.Context) error {
	if !s.opts.NATS.IsConnected() {
		return fmt.Errorf("NATS is %s", s.opts.NATS.Status())
	}
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// Run serves until ctx ends. It returns an error only if serving the bus fails for good.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.pusher.runWorkers(ctx, s.opts.SpecWorkers) })
	wg.Go(func() { s.pusher.runScanner(ctx, s.opts.ScanPeriod, s.opts.PurgeReconciledAfter) })
	connConfig := s.opts.Pool.Config().ConnConfig.Copy()
	connConfig.RuntimeParams["application_name"] = ListenerApplicationName
	l := &listener{
		connConfig:   connConfig,
		channel:      "events",
		onNotify:     s.pusher.notified,
		onListening:  s.pusher.requestScan, // at start-up and after every reconnect
		onReconnect:  s.metrics.listenerReconnects.Inc,
		pingInterval: s.opts.ListenerPingInterval,
		logger:       s.logger,
	}
	wg.Go(func() { l.run(ctx) })

	err := bus.Serve(ctx, s.opts.NATS, bus.RequestWildcard(bus.BackendMaestro), bus.QueueDBService, s.handle,
		bus.ServeOptions{MaxConcurrent: s.opts.MaxConcurrentRequests, Logger: s.logger})
	cancel()
	wg.Wait()
	return err
}

var manifestBundlesKey = func() string {
	reg, _ := ce.Lookup(ce.ManifestBundlesDataType)
	return reg.Key
}()

// handle answers one bus request: a status update or a spec resync for a Maestro resource bundle.
func (s *Service) handle(ctx context.Context, req bus.Request) bus.Reply {
	reply := s.route(ctx, req)
	s.logRefusal(req, reply)
	return reply
}

func (s *Service) route(ctx context.Context, req bus.Request) bus.Reply {
	if req.Key != manifestBundlesKey {
		return badRequest("the maestro backend serves only %s, not %q", manifestBundlesKey, req.Key)
	}
	et, err := ce.EventTypeOf(req.Event)
	if err != nil || et.DataType != ce.ManifestBundlesDataType {
		return badRequest("unsupported event type %q", req.Event.Type())
	}
	if cluster, err := ce.ClusterName(req.Event); err != nil || cluster != req.Cluster {
		return badRequest("event clustername %q does not match the request's cluster %q", cluster, req.Cluster)
	}
	switch {
	case et.Subresource == ce.SubresourceStatus && et.Action == ce.ActionUpdateRequest:
		return s.handleStatus(ctx, req)
	case et.Subresource == ce.SubresourceSpec && et.Action == ce.ActionResyncRequest:
		return s.handleResync(ctx, req)
	}
	return badRequest("unsupported event type %q", req.Event.Type())
}

// logRefusal logs requests refused as invalid; the bus already logs server-side failures.
func (s *Service) logRefusal(req bus.Request, reply bus.Reply) {
	if st := bus.StatusFromReply(reply); st != nil && st.Code < http.StatusInternalServerError {
		s.logger.Warn("request refused", "cluster", req.Cluster, "dataType", req.Key, "eventID", req.Event.ID(),
			"type", req.Event.Type(), "reason", st.Reason, "message", st.Message)
	}
}

func (s *Service) handleStatus(ctx context.Context, req bus.Request) bus.Reply {
	st, err := ParseAgentStatus(req.Event)
	if err != nil {
		s.metrics.statusWrites.WithLabelValues("error").Inc()
		return badRequest("%v", err)
	}
	outcome, err := s.store.WriteStatus(ctx, st)
	if err != nil {
		s.metrics.statusWrites.WithLabelValues("error").Inc()
		var mismatch *ConsumerMismatchError
		var invalid *InvalidStatusError
		if errors.As(err, &mismatch) || errors.As(err, &invalid) {
			return bus.ReplyError(apierrors.NewBadRequest(err.Error()))
		}
		return bus.ReplyError(apierrors.NewInternalError(err))
	}
	s.metrics.statusWrites.WithLabelValues(outcome.String()).Inc()
	s.logger.Debug("status update handled", "cluster", req.Cluster, "eventID", req.Event.ID(),
		"resourceID", st.ResourceID, "result", outcome.String())
	return bus.ReplyOK()
}

// handleResync pushes what the agent lacks, as Maestro's broker does (maestro.md §2.3 step 6): every
// deleting resource and every resource whose version is 0 or newer than the agent's. Deletions of
// resources the agent holds but nobody owns are the gateway's job, so the reply lists the ids from
// the agent's list that are Maestro resources of this consumer.
func (s *Service) handleResync(ctx context.Context, req bus.Request) bus.Reply {
	var list ce.ResourceVersionList
	if err := req.Event.DataAs(&list); err != nil {
		return badRequest("resync request data: %v", err)
	}
	resources, err := s.store.ConsumerResources(ctx, req.Cluster)
	if err != nil {
		return bus.ReplyError(apierrors.NewServiceUnavailable(err.Error()))
	}
	agentVersions := make(map[string]int64, len(list.ResourceVersions))
	for _, rv := range list.ResourceVersions {
		agentVersions[rv.ResourceID] = rv.ResourceVersion
	}
	ours := make(map[string]bool, len(resources))
	for _, r := range resources {
		ours[r.ID] = true
		if !r.Deleting() && r.Version != 0 && r.Version <= agentVersions[r.ID] {
			continue
		}
		if err := s.publishSpec(r, ce.ActionResyncResponse); err != nil {
			s.logger.Warn("resync push failed", "cluster", req.Cluster, "eventID", req.Event.ID(),
				"resourceID", r.ID, "error", err)
			// Without its pushes the answer is incomplete; the gateway must not act on it.
			return bus.ReplyError(apierrors.NewServiceUnavailable(err.Error()))
		}
	}
	owned := []string{}
	for _, rv := range list.ResourceVersions {
		if ours[rv.ResourceID] {
			owned = append(owned, rv.ResourceID)
		}
	}
	return bus.ReplyOwned(owned)
}

// pushSpec delivers the spec event for an events row. It returns only once NATS has the event, so
// that the row is never marked reconciled for an event that was lost in a client buffer.
func (s *Service) pushSpec(ctx context.Context, r *Resource, eventType SpecEventType) error {
	action, _ := eventType.Action()
	if err := s.publishSpec(r, action); err != nil {
		return err
	}
	flushCtx, cancel := context.WithTimeout(ctx, s.opts.PublishTimeout)
	defer cancel()
	if err := s.opts.NATS.FlushWithContext(flushCtx); err != nil {
		return fmt.Errorf("confirming push of resource %s: %w", r.ID, err)
	}
	return nil
}

func (s *Service) publishSpec(r *Resource, action ce.Action) error {
	evt, err := SpecEvent(r, action, time.Now())
	if err != nil {
		return err
	}
	subject, err := bus.PushSubject(r.ConsumerName, manifestBundlesKey)
	if err != nil {
		return err
	}
	if err := bus.Publish(s.opts.NATS, subject, *evt); err != nil {
		return err
	}
	s.metrics.specPushed.WithLabelValues(string(action)).Inc()
	return nil
}

func badRequest(format string, args ...any) bus.Reply {
	return bus.ReplyError(apierrors.NewBadRequest(fmt.Sprintf(format, args...)))
}
