package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/certs"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/fanout"
	"github.com/cloudevents-conductor/conductor/pkg/process"
)

const (
	component         = "grpc-gateway"
	minHeartbeat      = 10 * time.Second
	defaultOpsAddr    = ":8091"
	defaultListenAddr = ":8090"
)

// options are the command-line flags.
type options struct {
	common process.CommonOptions

	listenAddr     string
	certFile       string
	keyFile        string
	clientCAFile   string
	plaintext      bool
	kubeconfig     string
	nats           bus.ConnectOptions
	requestTimeout time.Duration
	heartbeat      time.Duration
	queueSize      int
	maxRecvMsgSize int
	tokenTTL       time.Duration
	allowTTL       time.Duration
	denyTTL        time.Duration
	disableAuth    bool
	shutdownAfter  time.Duration
}

func (o *options) parse(args []string, out io.Writer) error {
	fs := flag.NewFlagSet(component, flag.ContinueOnError)
	o.common.AddFlags(fs, defaultOpsAddr)
	fs.StringVar(&o.listenAddr, "listen-addr", defaultListenAddr, "gRPC listen address")
	fs.StringVar(&o.certFile, "tls-cert-file", "", "PEM serving certificate (reloaded when it changes)")
	fs.StringVar(&o.keyFile, "tls-key-file", "", "PEM private key of the serving certificate")
	fs.StringVar(&o.clientCAFile, "client-ca-file", "", "PEM CA bundle verifying agent client certificates (mTLS; the CA signing open-cluster-management.io/grpc CSRs)")
	fs.BoolVar(&o.plaintext, "plaintext", false, "serve gRPC without TLS (development only)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for TokenReview and SubjectAccessReview (empty: in-cluster config)")
	o.nats.AddFlags(fs)
	fs.DurationVar(&o.requestTimeout, "request-timeout", gateway.DefaultRequestTimeout, "timeout of each NATS request to a backend")
	fs.DurationVar(&o.heartbeat, "heartbeat-interval", gateway.DefaultHeartbeatInterval, "heartbeat interval on Subscribe streams (at least 10s)")
	fs.IntVar(&o.queueSize, "queue-size", fanout.DefaultQueueSize, "pushed events queued per stream before a slow stream is disconnected")
	fs.IntVar(&o.maxRecvMsgSize, "max-recv-msg-size", gateway.DefaultMaxRecvMsgSize, "largest gRPC message accepted, in bytes")
	fs.DurationVar(&o.tokenTTL, "token-cache-ttl", auth.DefaultTokenSuccessTTL, "how long an accepted bearer token is cached")
	fs.DurationVar(&o.allowTTL, "authz-allow-ttl", auth.DefaultAllowTTL, "how long an allowed SubjectAccessReview is cached")
	fs.DurationVar(&o.denyTTL, "authz-deny-ttl", auth.DefaultDenyTTL, "how long a denied SubjectAccessReview is cached")
	fs.BoolVar(&o.disableAuth, "disable-auth", false, "accept every request without authentication or authorization (development only)")
	fs.DurationVar(&o.shutdownAfter, "shutdown-timeout", gateway.DefaultShutdownTimeout, "how long graceful shutdown waits for in-flight requests")
	if err := process.ParseFlags(fs, args, component, out); err != nil {
		return err
	}
	return o.validate()
}

func (o *options) validate() error {
	if o.heartbeat < minHeartbeat {
		return fmt.Errorf("--heartbeat-interval must be at least %v", minHeartbeat)
	}
	if !o.plaintext && (o.certFile == "" || o.keyFile == "") {
		return errors.New("--tls-cert-file and --tls-key-file are required (or --plaintext for development)")
	}
	if o.plaintext && (o.certFile != "" || o.clientCAFile != "") {
		return errors.New("--plaintext cannot be combined with TLS files")
	}
	return nil
}

// serve runs the gateway and the ops server until ctx ends.
func (o *options) serve(ctx context.Context, logger *slog.Logger) error {
	nc, err := bus.Connect(component, o.nats, logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	registry := process.NewRegistry()
	gwOpts := gateway.Options{
		NATS: nc, RequestTimeout: o.requestTimeout, HeartbeatInterval: o.heartbeat, QueueSize: o.queueSize,
		MaxRecvMsgSize: o.maxRecvMsgSize, ShutdownTimeout: o.shutdownAfter, Registerer: registry, Logger: logger,
	}
	if err := o.configureAuth(&gwOpts, logger); err != nil {
		return err
	}
	if !o.plaintext {
		files := certs.Files{CertFile: o.certFile, KeyFile: o.keyFile, ClientCAFile: o.clientCAFile}
		if gwOpts.TLS, err = certs.ServingConfig(ctx, files); err != nil {
			return err
		}
	}
	gw, err := gateway.New(gwOpts)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", o.listenAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.listenAddr, err)
	}
	ops := process.NewOpsServer(process.OpsOptions{Addr: o.common.OpsAddr, Registry: registry, Logger: logger})
	ops.AddReadyCheck("nats", gw.Ready)
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return gw.Serve(ctx, lis) })
	group.Go(func() error { return ops.Run(ctx) })
	return group.Wait()
}

// configureAuth sets up TokenReview/mTLS authentication and SAR authorization.
func (o *options) configureAuth(gwOpts *gateway.Options, logger *slog.Logger) error {
	if o.disableAuth {
		logger.Warn("authentication and authorization are disabled: every request is accepted")
		return nil
	}
	cfg, err := o.restConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kube client: %w", err)
	}
	tokens, err := auth.NewTokenAuthenticator(auth.TokenAuthenticatorOptions{
		Reviews: client.AuthenticationV1().TokenReviews(), SuccessTTL: o.tokenTTL,
	})
	if err != nil {
		return err
	}
	gwOpts.Authenticator = auth.Chain{tokens, auth.CertificateAuthenticator{}}
	gwOpts.Authorizer, err = auth.NewSARAuthorizer(auth.SARAuthorizerOptions{
		Reviews: client.AuthorizationV1().SubjectAccessReviews(), AllowTTL: o.allowTTL, DenyTTL: o.denyTTL,
	})
	return err
}

func (o *options) restConfig() (*rest.Config, error) {
	if o.kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster kube config (set --kubeconfig outside a cluster): %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading --kubeconfig: %w", err)
	}
	return cfg, nil
}
