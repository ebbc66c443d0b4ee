package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cloudevents-conductor/conductor/pkg/maestro/devserver"
	"github.com/cloudevents-conductor/conductor/test/agent"
	"github.com/cloudevents-conductor/conductor/test/devhub"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// Options configures a stack.
type Options struct {
	// Dir holds logs, certificates and the kubeconfig; it is kept after Close for inspection.
	Dir string
	// BinDir holds the four conductor binaries (`make build`).
	BinDir string
	// WorkServiceReplicas is the number of work-service processes; default 2.
	WorkServiceReplicas int
	// DBServiceReplicas is the number of db-service processes; default 1.
	DBServiceReplicas int
	// MaestroBinary, when set, runs a real Maestro server (`maestro migration`, then `maestro
	// server --disable-message-broker=true`) on the database instead of the consumer API stand-in.
	MaestroBinary string
	Logger        *slog.Logger
}

// Stack is a running hub.
type Stack struct {
	Dir            string
	KubeconfigPath string
	Kube           *testenv.KubeEnv
	Postgres       *testenv.PostgresCluster
	// MaestroDSN is the connection string of the Maestro database.
	MaestroDSN string
	MaestroDB  *pgxpool.Pool
	// MaestroURL is the base URL of the Maestro consumer API stand-in.
	MaestroURL string
	NATSURL    string
	CA         *devhub.CA
	CAPath     string
	// GatewayAddr is the agents' gRPC endpoint (TLS).
	GatewayAddr string

	Gateway            *Process
	WorkServices       []*Process
	DBServices         []*Process
	ConsumerController *Process
	// Maestro is the real Maestro server when Options.MaestroBinary is set.
	Maestro *Process

	opts     Options
	hub      *devhub.Hub
	nats     *natsserver.Server
	natsPort int
	maestro  *http.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closers  []func() error
}

// Start brings the whole stack up and waits until every process is ready.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.WorkServiceReplicas == 0 {
		opts.WorkServiceReplicas = 2
	}
	if opts.DBServiceReplicas == 0 {
		opts.DBServiceReplicas = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Stack{Dir: opts.Dir, opts: opts, cancel: cancel}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	steps := []struct {
		name string
		fn   func(context.Context, context.Context) error
	}{
		{"kube-apiserver and etcd", s.startKube},
		{"PostgreSQL with Maestro's schema", s.startPostgres},
		{"NATS", func(context.Context, context.Context) error { return s.StartNATS() }},
		{"development hub", s.startHub},
		{"Maestro consumer API stand-in", s.startMaestroAPI},
		{"conductor processes", s.startProcesses},
	}
	for _, step := range steps {
		start := time.Now()
		if err := step.fn(ctx, runCtx); err != nil {
			return nil, fmt.Errorf("starting %s: %w", step.name, err)
		}
		opts.Logger.Info("started", "part", step.name, "took", time.Since(start).Round(time.Millisecond))
	}
	return s, nil
}

func (s *Stack) startKube(_, _ context.Context) error {
	kube, err := testenv.NewKubeEnv(testenv.KubeOptions{}) // our CRDs and API types
	if err != nil {
		return err
	}
	s.Kube = kube
	s.closers = append(s.closers, kube.Close)
	s.KubeconfigPath = filepath.Join(s.Dir, "hub.kubeconfig")
	return writeKubeconfig(s.KubeconfigPath, kube)
}

func writeKubeconfig(path string, kube *testenv.KubeEnv) error {
	cfg := kube.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["hub"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["hub"] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: "admin"}
	kc.CurrentContext = "hub"
	return clientcmd.WriteToFile(*kc, path)
}

func (s *Stack) startPostgres(ctx, _ context.Context) error {
	pg, err := testenv.NewPostgresCluster(ctx, testenv.PostgresOptions{})
	if err != nil {
		return err
	}
	s.Postgres = pg
	s.closers = append(s.closers, pg.Close)
	admin, err := pgx.Connect(ctx, pg.AdminDSN())
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE maestro"); err != nil {
		return err
	}
	dsn, err := url.Parse(pg.AdminDSN())
	if err != nil {
		return err
	}
	dsn.Path = "/maestro"
	s.MaestroDSN = dsn.String()
	pool, err := pgxpool.New(ctx, s.MaestroDSN)
	if err != nil {
		return err
	}
	s.MaestroDB = pool
	s.closers = append(s.closers, func() error { pool.Close(); return nil })
	return testenv.ApplyMaestroSchema(ctx, pool)
}

// StartNATS (re)starts the embedded NATS server, on the same port after a StopNATS.
func (s *Stack) StartNATS() error {
	port := s.natsPort
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true, MaxPayload: 8 << 20})
	if err != nil {
		return err
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		return errors.New("NATS not ready within 10s")
	}
	s.nats = srv
	s.natsPort = srv.Addr().(*net.TCPAddr).Port
	s.NATSURL = srv.ClientURL()
	return nil
}

// StopNATS shuts the NATS server down, as a NATS outage.
func (s *Stack) StopNATS() {
	if s.nats != nil {
		s.nats.Shutdown()
		s.nats.WaitForShutdown()
		s.nats = nil
	}
}

func (s *Stack) startHub(ctx, runCtx context.Context) error {
	ca, err := devhub.NewCA("conductor-dev-ca")
	if err != nil {
		return err
	}
	s.CA = ca
	s.CAPath = filepath.Join(s.Dir, "ca.crt")
	if err := os.WriteFile(s.CAPath, ca.CertPEM, 0o644); err != nil {
		return err
	}
	hub, err := devhub.New(ctx, devhub.Options{Config: s.Kube.Config, CA: ca, AutoAccept: true, Logger: s.opts.Logger})
	if err != nil {
		return err
	}
	s.hub = hub
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := hub.Run(runCtx); err != nil {
			s.opts.Logger.Error("development hub stopped", "err", err)
		}
	}()
	return nil
}

func (s *Stack) startMaestroAPI(ctx, _ context.Context) error {
	if s.opts.MaestroBinary != "" {
		return s.startRealMaestro(ctx)
	}
	api, err := devserver.New(devserver.Options{Pool: s.MaestroDB, Logger: s.opts.Logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.maestro = &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.maestro.Serve(ln) }()
	s.MaestroURL = "http://" + ln.Addr().String()
	return nil
}

// BootstrapToken returns a bootstrap token for a new klusterlet.
func (s *Stack) BootstrapToken(ctx context.Context) (string, error) {
	return s.hub.BootstrapToken(ctx, time.Hour)
}

// StartKlusterlet joins a simulated klusterlet for cluster and runs it until Stop or Close.
func (s *Stack) StartKlusterlet(ctx context.Context, cluster string) (*agent.Klusterlet, error) {
	token, err := s.BootstrapToken(ctx)
	if err != nil {
		return nil, err
	}
	return agent.StartKlusterlet(ctx, agent.KlusterletOptions{
		ClusterName: cluster, Target: s.GatewayAddr, CAPEM: s.CA.CertPEM, BootstrapToken: token,
		InitialBackoff: 200 * time.Millisecond, LeaseInterval: 2 * time.Second, Logger: s.opts.Logger.With("cluster", cluster),
	})
}

// Processes lists every conductor process.
func (s *Stack) Processes() []*Process {
	out := []*Process{s.Gateway}
	out = append(out, s.WorkServices...)
	out = append(out, s.DBServices...)
	out = append(out, s.ConsumerController)
	if s.Maestro != nil {
		out = append(out, s.Maestro)
	}
	return out
}

// Close stops everything it started, newest first.
func (s *Stack) Close() error {
	var errs []error
	for _, p := range s.Processes() {
		if p != nil {
			errs = append(errs, p.Stop(15*time.Second))
		}
	}
	s.cancel()
	s.wg.Wait()
	if s.maestro != nil {
		errs = append(errs, s.maestro.Close())
	}
	s.StopNATS()
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}
