package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/process"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--help"}, &out); !errors.Is(err, process.ErrExit) {
		t.Fatalf("--help: %v", err)
	}
	for _, flagName := range []string{"kubeconfig", "kube-api-qps", "kube-api-burst", "nats-url", "nats-creds-file",
		"nats-ca-file", "workers", "request-timeout", "ops-addr", "log-level", "config", "version"} {
		if !strings.Contains(out.String(), "-"+flagName) {
			t.Errorf("--help does not mention --%s", flagName)
		}
	}
	out.Reset()
	if err := run([]string{"--version"}, &out); !errors.Is(err, process.ErrExit) || !strings.HasPrefix(out.String(), "work-service ") {
		t.Errorf("--version: %v, %q", err, out.String())
	}
}

func TestInvalidFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"--workers", "0"}, {"--kube-api-qps", "0"}, {"--request-timeout", "0s"}, {"extra"}} {
		var opts options
		if err := opts.parse(args, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// TestServe runs the command against a real kube-apiserver and NATS: it becomes ready, answers
// requests, exposes metrics and stops cleanly.
func TestServe(t *testing.T) {
	env := testenv.Kube(t)
	natsSrv := testenv.NATS(t)
	opsAddr := freeAddr(t)
	var opts options
	err := opts.parse([]string{
		"--kubeconfig", writeKubeconfig(t, env.Config),
		"--nats-url", natsSrv.ClientURL(),
		"--ops-addr", opsAddr,
		"--log-level", "warn",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- opts.serve(ctx) }()

	base := "http://" + opsAddr
	testenv.Eventually(t, time.Minute, func() (bool, error) {
		code, body, err := get(base + "/readyz")
		if err == nil && code != http.StatusOK {
			err = errors.New(body)
		}
		return code == http.StatusOK, err
	})

	nc := testenvConnect(t, natsSrv.ClientURL())
	subject, err := bus.RequestSubject(bus.BackendKube, "serve", "managedclusters")
	if err != nil {
		t.Fatal(err)
	}
	evt := newResyncRequest(t, "serve")
	reply, err := bus.SendRequest(ctx, nc, subject, evt, bus.Identity{User: "agent"})
	if err != nil || !reply.OK() {
		t.Fatalf("resync request: %v, %+v", err, reply)
	}
	_, metrics, err := get(base + "/metrics")
	if err != nil || !strings.Contains(metrics, `conductor_work_service_requests_total{action="spec.resync_request",data_type="managedclusters",result="OK"} 1`) {
		t.Errorf("metrics do not count the request (%v):\n%s", err, metrics)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
}

func testenvConnect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// newResyncRequest is the spec resync request of an agent with an empty cache.
func newResyncRequest(t *testing.T, cluster string) event.Event {
	t.Helper()
	evt := event.New()
	evt.SetID(uuid.NewString())
	evt.SetSource(cluster)
	evt.SetType(ce.EventType{DataType: ce.ManagedClustersDataType, Subresource: ce.SubresourceSpec, Action: ce.ActionResyncRequest}.String())
	ce.SetClusterName(&evt, cluster)
	ce.SetOriginalSource(&evt, "")
	if err := evt.SetData(event.ApplicationJSON, ce.ResourceVersionList{}); err != nil {
		t.Fatal(err)
	}
	return evt
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// writeKubeconfig stores cfg (client certificate authentication, as envtest provides) as a file.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["hub"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["hub"] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: "admin"}
	kc.CurrentContext = "hub"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
