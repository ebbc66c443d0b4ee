package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency is usable; a nil error means ready.
type Check func(ctx context.Context) error

// OpsOptions configures the operations HTTP server.
type OpsOptions struct {
	// Addr is the listen address, e.g. ":8081". Empty disables the server.
	Addr string
	// Registry receives the process and Go collectors and is served on /metrics.
	Registry *prometheus.Registry
	// CheckTimeout bounds each readiness check. Default 2 s.
	CheckTimeout time.Duration
	Logger       *slog.Logger
}

// OpsServer serves /healthz, /readyz and /metrics.
type OpsServer struct {
	opts OpsOptions

	mu     sync.Mutex // guards checks; AddReadyCheck may run while probes are served
	checks map[string]Check
}

// NewRegistry returns a registry with the standard process and Go runtime collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return reg
}

// NewOpsServer builds the server; checks can be added until and after Run.
func NewOpsServer(opts OpsOptions) *OpsServer {
	if opts.CheckTimeout == 0 {
		opts.CheckTimeout = 2 * time.Second
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &OpsServer{opts: opts, checks: map[string]Check{}}
}

// AddReadyCheck registers a named readiness check.
func (s *OpsServer) AddReadyCheck(name string, check Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = check
}

// Handler returns the HTTP handler, for tests and for embedding into another mux.
func (s *OpsServer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", s.serveReady)
	mux.Handle("/metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{Registry: s.opts.Registry}))
	return mux
}

func (s *OpsServer) serveReady(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	sort.Strings(names)

	status := http.StatusOK
	body := ""
	for _, name := range names {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.CheckTimeout)
		err := checks[name](ctx)
		cancel()
		if err != nil {
			status = http.StatusServiceUnavailable
			body += fmt.Sprintf("[-] %s: %v\n", name, err)
			continue
		}
		body += fmt.Sprintf("[+] %s ok\n", name)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *OpsServer) Run(ctx context.Context) error {
	if s.opts.Addr == "" {
		<-ctx.Done()
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("ops server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener.
func (s *OpsServer) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.opts.Logger.Info("serving health and metrics", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("ops server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ops server shutdown: %w", err)
	}
	return nil
}
