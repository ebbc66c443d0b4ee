package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/process"
	"github.com/cloudevents-conductor/conductor/pkg/workservice"
)

const (
	component      = "work-service"
	defaultOpsAddr = ":8092"
)

// options are the command-line flags.
type options struct {
	common process.CommonOptions

	kubeconfig string
	kubeQPS    float64
	kubeBurst  int

	nats bus.ConnectOptions

	workers        int
	requestTimeout time.Duration
}

func (o *options) parse(args []string, out io.Writer) error {
	fs := flag.NewFlagSet(component, flag.ContinueOnError)
	o.common.AddFlags(fs, defaultOpsAddr)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file of the hub cluster; empty uses the in-cluster service account")
	fs.Float64Var(&o.kubeQPS, "kube-api-qps", 50, "sustained requests per second to the hub kube-apiserver")
	fs.IntVar(&o.kubeBurst, "kube-api-burst", 100, "request burst to the hub kube-apiserver")
	o.nats.AddFlags(fs)
	fs.IntVar(&o.workers, "workers", 64, "agent requests handled concurrently by this replica")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 30*time.Second, "time limit for handling one agent request")
	if err := process.ParseFlags(fs, args, component, out); err != nil {
		return err
	}
	return o.validate()
}

func (o *options) validate() error {
	switch {
	case o.kubeQPS <= 0:
		return errors.New("--kube-api-qps must be positive")
	case o.kubeBurst < 1:
		return errors.New("--kube-api-burst must be at least 1")
	case o.workers < 1:
		return errors.New("--workers must be at least 1")
	case o.requestTimeout <= 0:
		return errors.New("--request-timeout must be positive")
	}
	return nil
}

// kubeConfig loads --kubeconfig, or the in-cluster configuration when it is empty.
func (o *options) kubeConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("hub kube-apiserver configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.kubeQPS), o.kubeBurst
	cfg.UserAgent = component
	return cfg, nil
}

// serve runs the work-service and the ops server until ctx ends.
func (o *options) serve(ctx context.Context) error {
	logger, err := o.common.Logger()
	if err != nil {
		return err
	}
	// client-go and controller-runtime log through their own globals; send both to ours.
	klog.SetSlogLogger(logger)
	ctrllog.SetLogger(logr.FromSlogHandler(logger.Handler()))

	cfg, err := o.kubeConfig()
	if err != nil {
		return err
	}
	nc, err := bus.Connect(component, o.nats, logger)
	if err != nil {
		return err
	}
	defer nc.Close()

	registry := process.NewRegistry()
	svc, err := workservice.New(workservice.Options{
		Kube: cfg, NATS: nc, Workers: o.workers, RequestTimeout: o.requestTimeout,
		Registerer: registry, Logger: logger,
	})
	if err != nil {
		return err
	}
	ops := process.NewOpsServer(process.OpsOptions{Addr: o.common.OpsAddr, Registry: registry, Logger: logger})
	ops.AddReadyCheck("work-service", svc.Ready)
	logger.Info("starting", "component", component, "kubeAPI", cfg.Host, "nats", o.nats.URL)
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return svc.Run(ctx) })
	group.Go(func() error { return ops.Run(ctx) })
	return group.Wait()
}
