package process

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseFlagsConfigFileAndOverride(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("nats-url: nats://file:4222\npool-size: 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	url := fs.String("nats-url", "nats://default:4222", "")
	pool := fs.Int("pool-size", 1, "")
	if err := ParseFlags(fs, []string{"--config", cfg, "--nats-url", "nats://cli:4222"}, "x", io.Discard); err != nil {
		t.Fatal(err)
	}
	if *url != "nats://cli:4222" {
		t.Errorf("command line must win over the config file, got %q", *url)
	}
	if *pool != 7 {
		t.Errorf("config file value not applied: pool-size=%d", *pool)
	}
}

func TestParseFlagsRejectsUnknownConfigKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("no-such-flag: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	err := ParseFlags(fs, []string{"--config", cfg}, "x", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestParseFlagsVersionAndHelp(t *testing.T) {
	var out bytes.Buffer
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	if err := ParseFlags(fs, []string{"--version"}, "db-service", &out); !errors.Is(err, ErrExit) {
		t.Fatalf("--version: want ErrExit, got %v", err)
	}
	if !strings.HasPrefix(out.String(), "db-service ") {
		t.Errorf("--version output %q", out.String())
	}
	out.Reset()
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("nats-url", "", "the NATS server")
	if err := ParseFlags(fs, []string{"--help"}, "x", &out); !errors.Is(err, ErrExit) {
		t.Fatalf("--help: want ErrExit, got %v", err)
	}
	if !strings.Contains(out.String(), "nats-url") || !strings.Contains(out.String(), "config") {
		t.Errorf("--help must document every flag, got %q", out.String())
	}
}

func TestOpsServerProbes(t *testing.T) {
	srv := NewOpsServer(OpsOptions{})
	var dbUp atomic.Bool
	srv.AddReadyCheck("database", func(context.Context) error {
		if !dbUp.Load() {
			return errors.New("connection refused")
		}
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz must not depend on the database: %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "connection refused") {
		t.Errorf("/readyz with database down: %d %q", code, body)
	}
	dbUp.Store(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz with database up: %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ops server did not stop")
	}
}
