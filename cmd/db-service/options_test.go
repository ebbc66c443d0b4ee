package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/dbservice/maestrotest"
	"github.com/cloudevents-conductor/conductor/pkg/process"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

func TestHelpAndVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--help"}, &out); !errors.Is(err, process.ErrExit) {
		t.Fatalf("--help: %v", err)
	}
	for _, flag := range []string{"server-config", "db-url", "db-host", "db-port", "db-name", "db-user", "db-password-file",
		"db-sslmode", "db-pool-size", "nats-url", "scan-period", "ops-addr", "config", "version"} {
		if !strings.Contains(out.String(), "-"+flag+" ") && !strings.Contains(out.String(), "-"+flag+"\n") {
			t.Errorf("--help does not document --%s", flag)
		}
	}
	out.Reset()
	if err := run([]string{"--version"}, &out); !errors.Is(err, process.ErrExit) || !strings.HasPrefix(out.String(), "db-service ") {
		t.Errorf("--version: %v %q", err, out.String())
	}
}

func TestReferenceConductorServerConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "grpc-server-config.yaml")
	// The reference conductor's Secret (deploy/secret.yaml), as is.
	writeFile(t, cfg, `grpc_config:
  client_ca_file: /etc/cloudevents-conductor/certs/ca.crt
db_config:
  host: maestro-db.maestro
  port: 5432
  name: maestro
  username: maestro
  password: maestro
  sslmode: "disable"
`)
	var o options
	if err := o.parse([]string{"--server-config", cfg}, io.Discard); err != nil {
		t.Fatal(err)
	}
	pc, err := o.poolConfig()
	if err != nil {
		t.Fatal(err)
	}
	c := pc.ConnConfig
	if c.Host != "maestro-db.maestro" || c.Port != 5432 || c.Database != "maestro" || c.User != "maestro" ||
		c.Password != "maestro" || c.TLSConfig != nil {
		t.Errorf("connection config from db_config: host %s port %d db %s user %s password %q tls %v",
			c.Host, c.Port, c.Database, c.User, c.Password, c.TLSConfig != nil)
	}

	// Flags win over the file; the password comes from a file.
	pw := filepath.Join(dir, "password")
	writeFile(t, pw, "s3cret\n")
	o = options{}
	if err := o.parse([]string{"--server-config", cfg, "--db-host", "other", "--db-password-file", pw, "--db-pool-size", "3"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if pc, err = o.poolConfig(); err != nil {
		t.Fatal(err)
	}
	if pc.ConnConfig.Host != "other" || pc.ConnConfig.Password != "s3cret" || pc.MaxConns != 3 {
		t.Errorf("overrides: host %s password %q pool %d", pc.ConnConfig.Host, pc.ConnConfig.Password, pc.MaxConns)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServe runs the command against real PostgreSQL and NATS: probes, metrics, a status write
// over the bus, and readiness following the database while liveness does not.
func TestServe(t *testing.T) {
	cluster := testenv.StartPostgres(t, testenv.PostgresOptions{Local: true})
	db := cluster.NewDatabase(t)
	natsSrv := testenv.NATS(t)
	opsAddr := freeAddr(t)
	var o options
	if err := o.parse([]string{"--db-url", db.DSN(), "--nats-url", natsSrv.ClientURL(), "--ops-addr", opsAddr,
		"--log-level", "warn"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.serve(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	base := "http://" + opsAddr
	waitStatus(t, base+"/readyz", http.StatusOK)

	// A status write through the bus, the way the gateway sends it.
	pool := db.Pool(t)
	maestro := maestrotest.New(pool)
	if _, err := maestro.CreateConsumer(t.Context(), "cluster1"); err != nil {
		t.Fatal(err)
	}
	id, _, err := maestro.CreateResource(t.Context(), maestrotest.Bundle{Source: "test", Consumer: "cluster1",
		Manifests: []map[string]any{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "default"}}}})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsSrv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	evt := cloudevents.NewEvent()
	evt.SetID(uuid.NewString())
	evt.SetSource("cluster1-work-agent")
	evt.SetType(string(ce.ManifestBundlesDataType) + ".status.update_request")
	ce.SetClusterName(&evt, "cluster1")
	ce.SetResourceID(&evt, id)
	ce.SetOriginalSource(&evt, "maestro")
	ce.SetSequenceID(&evt, "2126368142790758400")
	if err := ce.SetResourceVersionInt(&evt, 1); err != nil {
		t.Fatal(err)
	}
	if err := evt.SetData("application/json", map[string]any{"conditions": []any{}}); err != nil {
		t.Fatal(err)
	}
	subject, _ := bus.RequestSubject(bus.BackendMaestro, "cluster1", "manifestbundles")
	reply, err := bus.SendRequest(t.Context(), nc, subject, evt, bus.Identity{})
	if err != nil || !reply.OK() {
		t.Fatalf("status request: %v %v", err, reply.Err())
	}
	if body := get(t, base+"/metrics"); !strings.Contains(body, `conductor_dbservice_status_writes_total{result="accepted"} 1`) {
		t.Errorf("/metrics lacks the accepted status write:\n%s", grepLines(body, "conductor_dbservice"))
	}

	cluster.Stop(t)
	waitStatus(t, base+"/readyz", http.StatusServiceUnavailable)
	if code := statusCode(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz must not depend on the database: %d", code)
	}
	cluster.Start(t)
	waitStatus(t, base+"/readyz", http.StatusOK)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func statusCode(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() (bool, error) { return statusCode(t, url) == want, nil })
}

func grepLines(body, substr string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
