package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/testpki"
	"github.com/cloudevents-conductor/conductor/pkg/process"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

func TestHelpAndVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--help"}, &out); !errors.Is(err, process.ErrExit) {
		t.Fatalf("--help: %v", err)
	}
	for _, flag := range []string{"listen-addr", "tls-cert-file", "client-ca-file", "plaintext", "kubeconfig", "nats-url",
		"request-timeout", "heartbeat-interval", "queue-size", "max-recv-msg-size", "token-cache-ttl", "authz-allow-ttl",
		"authz-deny-ttl", "disable-auth", "ops-addr", "config"} {
		if !strings.Contains(out.String(), "-"+flag) {
			t.Errorf("--help does not document --%s", flag)
		}
	}
	out.Reset()
	if err := run([]string{"--version"}, &out); !errors.Is(err, process.ErrExit) || !strings.HasPrefix(out.String(), "grpc-gateway ") {
		t.Fatalf("--version: %v %q", err, out.String())
	}
}

func TestFlagValidation(t *testing.T) {
	for name, args := range map[string][]string{
		"heartbeat below 10s": {"--plaintext", "--heartbeat-interval", "5s"},
		"no TLS files":        {},
		"plaintext with TLS":  {"--plaintext", "--tls-cert-file", "x.crt", "--tls-key-file", "x.key"},
	} {
		var o options
		if err := o.parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lis.Close() }()
	return lis.Addr().String()
}

// startCommand runs the command's serve loop until the test ends.
func startCommand(t *testing.T, args ...string) (grpcAddr, opsAddr string) {
	t.Helper()
	grpcAddr, opsAddr = freeAddr(t), freeAddr(t)
	var o options
	args = append(args, "--listen-addr", grpcAddr, "--ops-addr", opsAddr, "--log-level", "error")
	if err := o.parse(args, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- o.serve(ctx, logger) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	testenv.Eventually(t, 10*time.Second, func() (bool, error) {
		resp, err := http.Get("http://" + opsAddr + "/readyz")
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return grpcAddr, opsAddr
}

func subscribeOnce(t *testing.T, addr string, creds credentials.TransportCredentials) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := pbv1.NewCloudEventServiceClient(conn).Subscribe(ctx, &pbv1.SubscriptionRequest{
		ClusterName: "cluster1", DataType: string(cloudevents.ManifestBundlesDataType)})
	if err != nil {
		t.Fatal(err)
	}
	header, err := stream.Header()
	if err != nil || len(header.Get("subscription-id")) != 1 {
		t.Fatalf("subscribe: header %v, %v", header, err)
	}
}

func TestServesPlaintextForDevelopment(t *testing.T) {
	nats := testenv.NATS(t)
	grpcAddr, opsAddr := startCommand(t, "--plaintext", "--disable-auth", "--nats-url", nats.ClientURL())
	subscribeOnce(t, grpcAddr, insecure.NewCredentials())
	resp, err := http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	for _, family := range []string{"grpc_server_started_total", "cloudevents_subscribers", "go_goroutines"} {
		if !strings.Contains(body.String(), family) {
			t.Errorf("/metrics lacks %s", family)
		}
	}
}

func TestServesTLS13(t *testing.T) {
	nats := testenv.NATS(t)
	ca := testpki.NewCA(t, "gateway-ca")
	certFile, keyFile := ca.Server(t, "gateway").WriteFiles(t, t.TempDir(), "tls")
	grpcAddr, _ := startCommand(t, "--disable-auth", "--nats-url", nats.ClientURL(),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile)
	// sdk-go clients pin TLS 1.3.
	subscribeOnce(t, grpcAddr, credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13}))
}
