package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cloudevents-conductor/conductor/pkg/consumer"
	"github.com/cloudevents-conductor/conductor/pkg/maestro"
	"github.com/cloudevents-conductor/conductor/pkg/process"
	"github.com/cloudevents-conductor/conductor/pkg/version"
)

const (
	component      = "consumer-controller"
	defaultOpsAddr = ":8094"
	// The controller makes a few calls per cluster change; client-go's 5 QPS default would
	// still make a resync of thousands of clusters crawl.
	kubeQPS   = 50
	kubeBurst = 100
)

// options are the command-line flags.
type options struct {
	common process.CommonOptions

	kubeconfig       string
	maestroURL       string
	maestroCAFile    string
	maestroTokenFile string
	maestroTimeout   time.Duration
	labelPrefixes    listFlag
	resyncPeriod     time.Duration
	retryBaseDelay   time.Duration
	retryMaxDelay    time.Duration

	leaderElect             bool
	leaderElectionID        string
	leaderElectionNamespace string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
}

func (o *options) parse(args []string, out io.Writer) error {
	fs := flag.NewFlagSet(component, flag.ContinueOnError)
	o.common.AddFlags(fs, defaultOpsAddr)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the hub; empty means $KUBECONFIG, the in-cluster service account, then ~/.kube/config")
	fs.StringVar(&o.maestroURL, "maestro-url", "", "root URL of Maestro's REST API, e.g. http://maestro:8000 (required)")
	fs.StringVar(&o.maestroCAFile, "maestro-ca-file", "", "PEM CA bundle to verify an https Maestro URL with, instead of the system roots")
	fs.StringVar(&o.maestroTokenFile, "maestro-token-file", "", "file holding a bearer token for Maestro, re-read on every call")
	fs.DurationVar(&o.maestroTimeout, "maestro-timeout", maestro.DefaultTimeout, "timeout of one REST call to Maestro")
	fs.Var(&o.labelPrefixes, "label-prefix", "copy only cluster labels whose key starts with this `prefix` to the consumer; repeat or comma-separate for several; none copies all labels")
	fs.DurationVar(&o.resyncPeriod, "resync-period", consumer.DefaultResyncPeriod, "how often every cluster is checked again without a change, repairing consumers changed behind the controller's back")
	fs.DurationVar(&o.retryBaseDelay, "retry-base-delay", consumer.DefaultBaseDelay, "first delay before retrying a failed cluster (Maestro down, 5xx, delete refused); doubles per failure")
	fs.DurationVar(&o.retryMaxDelay, "retry-max-delay", consumer.DefaultMaxDelay, "longest delay between retries of one cluster")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "run only while holding the leader election Lease, so replicas stand by")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", consumer.DefaultLeaderElection, "name of the leader election Lease")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease; empty means the pod's own namespace")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", consumer.DefaultLeaseDuration, "how long standbys wait after the last renewal before taking over")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", consumer.DefaultRenewDeadline, "how long the leader keeps trying to renew before it gives up leadership")
	fs.DurationVar(&o.retryPeriod, "leader-election-retry-period", consumer.DefaultRetryPeriod, "how often leader election clients try to acquire or renew the Lease")
	if err := process.ParseFlags(fs, args, component, out); err != nil {
		return err
	}
	return o.validate()
}

func (o *options) validate() error {
	switch {
	case o.maestroURL == "":
		return errors.New("--maestro-url is required")
	case o.retryBaseDelay <= 0 || o.retryMaxDelay < o.retryBaseDelay:
		return errors.New("--retry-base-delay must be positive and at most --retry-max-delay")
	case o.leaseDuration <= o.renewDeadline || o.renewDeadline <= o.retryPeriod:
		return errors.New("leader election needs lease duration > renew deadline > retry period")
	}
	return nil
}

// serve runs the controller until ctx ends; with leader election, only while leading.
func (o *options) serve(ctx context.Context) error {
	logger, err := o.common.Logger()
	if err != nil {
		return err
	}
	ctrl.SetLogger(logr.FromSlogHandler(logger.Handler()))
	restMetrics, controllerMetrics := maestro.NewMetrics(), consumer.NewMetrics()
	unregister, err := registerMetrics(restMetrics, controllerMetrics)
	if err != nil {
		return err
	}
	defer unregister()
	client, err := maestro.New(maestro.Options{
		BaseURL:   o.maestroURL,
		CAFile:    o.maestroCAFile,
		TokenFile: o.maestroTokenFile,
		Timeout:   o.maestroTimeout,
		UserAgent: component + "/" + version.Version,
		Metrics:   restMetrics,
	})
	if err != nil {
		return err
	}
	cfg, err := o.restConfig()
	if err != nil {
		return err
	}
	mgr, err := consumer.NewManager(cfg, consumer.ManagerOptions{
		Controller: consumer.Options{
			Maestro:   client,
			Metrics:   controllerMetrics,
			Labels:    consumer.LabelFilter{Prefixes: o.labelPrefixes},
			BaseDelay: o.retryBaseDelay,
			MaxDelay:  o.retryMaxDelay,
		},
		OpsAddr: o.common.OpsAddr,
		LeaderElection: consumer.LeaderElection{
			Enabled:       o.leaderElect,
			ID:            o.leaderElectionID,
			Namespace:     o.leaderElectionNamespace,
			LeaseDuration: o.leaseDuration,
			RenewDeadline: o.renewDeadline,
			RetryPeriod:   o.retryPeriod,
		},
		ResyncPeriod: o.resyncPeriod,
	})
	if err != nil {
		return err
	}
	logger.Info("starting", "version", version.Version, "maestro", o.maestroURL,
		"leaderElection", o.leaderElect, "labelPrefixes", []string(o.labelPrefixes))
	return mgr.Start(ctx)
}

// registerMetrics adds ours to controller-runtime's registry, which the ops address serves (it
// already has the process and Go runtime collectors). The returned func takes them out again,
// so serve can run more than once in a process, as tests do.
func registerMetrics(collectors ...prometheus.Collector) (func(), error) {
	unregister := func() {
		for _, c := range collectors {
			ctrlmetrics.Registry.Unregister(c)
		}
	}
	for _, c := range collectors {
		if err := ctrlmetrics.Registry.Register(c); err != nil {
			unregister()
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return unregister, nil
}

func (o *options) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = ctrlconfig.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = kubeQPS, kubeBurst
	cfg.UserAgent = component + "/" + version.Version
	return cfg, nil
}

// listFlag is a string list flag: repeated, comma-separated, or both.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(value string) error {
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}
