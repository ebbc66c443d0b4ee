package maestro_test

import (
	"context"
	"encoding/pem"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudevents-conductor/conductor/pkg/maestro"
	"github.com/cloudevents-conductor/conductor/pkg/maestro/devserver"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

var pg testenv.SharedPostgres

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &pg)) }

// newDevserver serves the Maestro stand-in on a fresh database, optionally behind wrap.
func newDevserver(t *testing.T, wrap func(http.Handler) http.Handler) (*httptest.Server, *pgxpool.Pool) {
	t.Helper()
	pool := pg.NewDatabase(t).Pool(t)
	srv, err := devserver.New(devserver.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs, pool
}

func newClient(t *testing.T, opts maestro.Options) *maestro.Client {
	t.Helper()
	c, err := maestro.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConsumerLifecycle(t *testing.T) {
	hs, pool := newDevserver(t, nil)
	c := newClient(t, maestro.Options{BaseURL: hs.URL})
	ctx := t.Context()

	if _, err := c.FindByName(ctx, "cluster1"); !maestro.IsNotFound(err) || !errors.Is(err, maestro.ErrNotFound) {
		t.Fatalf("FindByName before create: %v", err)
	}
	created, err := c.Create(ctx, "cluster1", map[string]string{"env": "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "cluster1" || created.Kind != "Consumer" || created.ID == "" || created.CreatedAt.IsZero() ||
		!maps.Equal(created.Labels, map[string]string{"env": "dev"}) {
		t.Errorf("created %+v", created)
	}

	found, err := c.FindByName(ctx, "cluster1")
	if err != nil || found.ID != created.ID {
		t.Fatalf("FindByName: %+v, %v", found, err)
	}
	got, err := c.Get(ctx, created.ID)
	if err != nil || got.Name != "cluster1" {
		t.Fatalf("Get: %+v, %v", got, err)
	}

	_, err = c.Create(ctx, "cluster1", nil)
	if !maestro.IsConflict(err) {
		t.Errorf("second create: %v, want a conflict", err)
	}
	if e, ok := maestro.AsError(err); !ok || e.Code != maestro.CodeConflict || e.OperationID == "" {
		t.Errorf("conflict error not decoded: %#v", err)
	}

	patched, err := c.PatchLabels(ctx, created.ID, map[string]string{"a": "1"})
	if err != nil || !maps.Equal(patched.Labels, map[string]string{"a": "1"}) {
		t.Fatalf("PatchLabels: %+v, %v", patched, err)
	}
	cleared, err := c.PatchLabels(ctx, created.ID, nil)
	if err != nil || len(cleared.Labels) != 0 {
		t.Fatalf("clearing labels: %+v, %v", cleared, err)
	}

	resourceID := uuid.NewString()
	if _, err := pool.Exec(ctx, `INSERT INTO resources (id, name, consumer_name, version, type, source, payload, status)
		VALUES ($1, $1, 'cluster1', 1, '', 'grpc', '{}', 'null')`, resourceID); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, created.ID); !maestro.IsForbidden(err) {
		t.Fatalf("delete with a resource left: %v, want forbidden", err)
	}
	if _, err := pool.Exec(ctx, "DELETE FROM resources WHERE id = $1", resourceID); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, created.ID); !maestro.IsNotFound(err) {
		t.Errorf("Get after delete: %v", err)
	}
}

func TestInvalidNamesAreNotRetryable(t *testing.T) {
	hs, _ := newDevserver(t, nil)
	c := newClient(t, maestro.Options{BaseURL: hs.URL + "/api/maestro/v1/"})
	_, err := c.Create(t.Context(), "has.dots", nil)
	if !maestro.IsInvalid(err) {
		t.Fatalf("create with an invalid name: %v, want IsInvalid", err)
	}
	if _, err := c.FindByName(t.Context(), "it's"); err == nil || maestro.IsNotFound(err) {
		t.Errorf("FindByName with a quote: %v", err)
	}
}

func TestBearerTokenIsReadOnEveryCall(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	hs, _ := newDevserver(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Header.Get("Authorization"))
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, "first\n")
	c := newClient(t, maestro.Options{BaseURL: hs.URL, TokenFile: tokenFile})
	if _, err := c.List(t.Context(), maestro.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, tokenFile, "second")
	if _, err := c.List(t.Context(), maestro.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "Bearer first" || seen[1] != "Bearer second" {
		t.Errorf("Authorization headers: %q", seen)
	}
}

func TestCAFile(t *testing.T) {
	pool := pg.NewDatabase(t).Pool(t)
	srv, err := devserver.New(devserver.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(hs.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})))

	trusting := newClient(t, maestro.Options{BaseURL: hs.URL, CAFile: caFile})
	if _, err := trusting.List(t.Context(), maestro.ListOptions{}); err != nil {
		t.Errorf("with the CA file: %v", err)
	}
	systemRoots := newClient(t, maestro.Options{BaseURL: hs.URL})
	if _, err := systemRoots.List(t.Context(), maestro.ListOptions{}); err == nil {
		t.Error("a self-signed server was trusted without the CA file")
	}
	if _, err := maestro.New(maestro.Options{BaseURL: hs.URL, CAFile: tokenLikeFile(t)}); err == nil {
		t.Error("a CA file without certificates was accepted")
	}
}

func TestTimeoutAndUnreachable(t *testing.T) {
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hanging.Close() })

	c := newClient(t, maestro.Options{BaseURL: hanging.URL, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := c.FindByName(t.Context(), "cluster1")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("hanging server: err %v after %v", err, time.Since(start))
	}
	if _, isMaestro := maestro.AsError(err); isMaestro {
		t.Errorf("a timeout decoded as a Maestro answer: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Get(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}

	unreachable := newClient(t, maestro.Options{BaseURL: "http://" + closedAddress(t)})
	if err := unreachable.Delete(t.Context(), "x"); err == nil || maestro.IsNotFound(err) || maestro.IsInvalid(err) {
		t.Errorf("unreachable server: %v", err)
	}
}

func TestNonMaestroErrorBody(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream connect error", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	c := newClient(t, maestro.Options{BaseURL: proxy.URL})
	_, err := c.Create(t.Context(), "cluster1", nil)
	e, ok := maestro.AsError(err)
	if !ok || e.StatusCode != http.StatusBadGateway || e.Code != "" || e.Reason != "upstream connect error" {
		t.Fatalf("got %#v", err)
	}
	if maestro.IsInvalid(err) || maestro.IsConflict(err) {
		t.Errorf("a 502 classified as final: %v", err)
	}
}

func TestMetricsCountCallsByMethodAndCode(t *testing.T) {
	hs, _ := newDevserver(t, nil)
	metrics := maestro.NewMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)
	c := newClient(t, maestro.Options{BaseURL: hs.URL, Metrics: metrics})
	if _, err := c.Create(t.Context(), "cluster1", nil); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Create(t.Context(), "cluster1", nil)
	_, _ = c.Create(t.Context(), "cluster1", nil)
	down := newClient(t, maestro.Options{BaseURL: "http://" + closedAddress(t), Metrics: metrics})
	_, _ = down.FindByName(t.Context(), "cluster1")

	want := map[string]float64{"POST 201": 1, "POST 409": 2, "GET error": 1}
	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			key := labels["method"] + " " + labels["code"]
			switch f.GetName() {
			case "conductor_maestro_rest_requests_total":
				got[key] = m.GetCounter().GetValue()
			case "conductor_maestro_rest_request_duration_seconds":
				if m.GetHistogram().GetSampleCount() != uint64(want[key]) {
					t.Errorf("latency samples for %s: %d", key, m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("requests_total = %v, want %v", got, want)
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, raw := range []string{"", "maestro:8000", "ftp://maestro", "http://"} {
		if _, err := maestro.New(maestro.Options{BaseURL: raw}); err == nil {
			t.Errorf("base URL %q accepted", raw)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func tokenLikeFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "not-a-ca")
	writeFile(t, path, strings.Repeat("x", 40))
	return path
}

// closedAddress returns a local address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
