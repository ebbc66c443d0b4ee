package consumer

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
)

// Defaults for the options below.
const (
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = 5 * time.Minute
	DefaultResyncPeriod   = 10 * time.Minute
	DefaultLeaseDuration  = 15 * time.Second
	DefaultRenewDeadline  = 10 * time.Second
	DefaultRetryPeriod    = 2 * time.Second
	DefaultLeaderElection = "consumer-controller.cloudevents-conductor.io"
	// overallRetryQPS caps retries across all clusters, so a Maestro outage with thousands of
	// clusters does not turn into a request storm once the per-cluster delays line up.
	overallRetryQPS   = 10
	overallRetryBurst = 100
)

// Options configure the controller.
type Options struct {
	// Maestro is the consumer REST client. Required.
	Maestro Maestro
	// Metrics receives the controller's metrics; a fresh, unregistered set when nil.
	Metrics *Metrics
	// Labels selects the cluster labels copied to consumers (all by default).
	Labels LabelFilter
	// BaseDelay and MaxDelay bound the exponential backoff after a failed reconcile of one
	// cluster: BaseDelay, twice that, ... up to MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// SkipNameValidation allows several controllers of this name in one process, as tests
	// with several replicas need; controller-runtime refuses that by default.
	SkipNameValidation bool
}

// Setup registers the controller with mgr.
func Setup(mgr manager.Manager, opts Options) error {
	if opts.Maestro == nil {
		return errors.New("consumer: a Maestro client is required")
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	base, maxDelay := orDefault(opts.BaseDelay, DefaultBaseDelay), orDefault(opts.MaxDelay, DefaultMaxDelay)
	r := &Reconciler{
		Client:   mgr.GetClient(),
		Maestro:  opts.Maestro,
		Recorder: mgr.GetEventRecorder(controllerName),
		Labels:   opts.Labels,
		Metrics:  opts.Metrics,
	}
	skip := opts.SkipNameValidation
	return ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		For(&clusterv1.ManagedCluster{}).
		WithOptions(controller.Options{
			RateLimiter: workqueue.NewTypedMaxOfRateLimiter(
				workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](base, maxDelay),
				&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(overallRetryQPS, overallRetryBurst)},
			),
			SkipNameValidation: &skip,
		}).
		Complete(r)
}

// LeaderElection configures leader election on a coordination.k8s.io Lease.
type LeaderElection struct {
	Enabled bool
	// ID is the Lease name; DefaultLeaderElection when empty.
	ID string
	// Namespace holds the Lease; the pod's namespace when empty and running in a cluster.
	Namespace                                 string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// ManagerOptions configure the manager that runs the controller.
type ManagerOptions struct {
	Controller Options
	// OpsAddr is where /metrics (controller-runtime's registry), /healthz and /readyz are
	// served, like every conductor process's --ops-addr; "" or "0" serves nothing. Standby
	// replicas serve them too and are ready: they only wait for the lease.
	OpsAddr        string
	LeaderElection LeaderElection
	// ResyncPeriod is how often every cluster is reconciled even without a change, which
	// repairs consumers changed or deleted behind the controller's back.
	ResyncPeriod time.Duration
}

// NewManager builds a controller-runtime manager running the controller. Start it with
// mgr.Start(ctx); it returns when ctx ends or leadership is lost.
func NewManager(cfg *rest.Config, opts ManagerOptions) (manager.Manager, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("consumer: scheme: %w", err)
	}
	if err := clusterv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("consumer: scheme: %w", err)
	}
	resync := orDefault(opts.ResyncPeriod, DefaultResyncPeriod)
	le := opts.LeaderElection
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cache.Options{SyncPeriod: &resync},
		Metrics:                       opsServer(opts.OpsAddr),
		LeaderElection:                le.Enabled,
		LeaderElectionID:              orDefault(le.ID, DefaultLeaderElection),
		LeaderElectionNamespace:       le.Namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 new(orDefault(le.LeaseDuration, DefaultLeaseDuration)),
		RenewDeadline:                 new(orDefault(le.RenewDeadline, DefaultRenewDeadline)),
		RetryPeriod:                   new(orDefault(le.RetryPeriod, DefaultRetryPeriod)),
		Controller:                    config.Controller{SkipNameValidation: &opts.Controller.SkipNameValidation},
	})
	if err != nil {
		return nil, fmt.Errorf("consumer: manager: %w", err)
	}
	if err := Setup(mgr, opts.Controller); err != nil {
		return nil, err
	}
	return mgr, nil
}

// opsServer is controller-runtime's metrics server with the probes added, so one address
// serves all three as in the other conductor processes. Liveness never looks at Maestro or
// the API server: a restart would not bring them back.
func opsServer(addr string) metricsserver.Options {
	if addr == "" {
		addr = "0"
	}
	alive := &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}
	return metricsserver.Options{
		BindAddress: addr,
		ExtraHandlers: map[string]http.Handler{
			// healthz.Handler serves "/" (all checks) and "/<check>", as mounted under a prefix.
			"/healthz": http.StripPrefix("/healthz", alive),
			"/readyz":  http.StripPrefix("/readyz", alive),
		},
	}
}

func orDefault[T comparable](value, fallback T) T {
	var zero T
	if value == zero {
		return fallback
	}
	return value
}
