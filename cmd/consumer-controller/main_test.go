package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/apis/crds"
	"github.com/cloudevents-conductor/conductor/pkg/consumer"
	"github.com/cloudevents-conductor/conductor/pkg/maestro"
	"github.com/cloudevents-conductor/conductor/pkg/maestro/devserver"
	"github.com/cloudevents-conductor/conductor/pkg/process"
	"github.com/cloudevents-conductor/conductor/pkg/version"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

const timeout = 60 * time.Second

func TestHelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--help"}, &out); !errors.Is(err, process.ErrExit) {
		t.Fatalf("--help: %v", err)
	}
	for _, name := range []string{
		"kubeconfig", "maestro-url", "maestro-ca-file", "maestro-token-file", "maestro-timeout", "label-prefix",
		"leader-elect", "leader-election-id", "leader-election-namespace", "leader-election-lease-duration",
		"leader-election-renew-deadline", "leader-election-retry-period", "ops-addr", "log-level", "log-format",
		"resync-period", "retry-base-delay", "retry-max-delay", "config", "version",
	} {
		if !strings.Contains(out.String(), "-"+name+" ") && !strings.Contains(out.String(), "-"+name+"\n") {
			t.Errorf("--help does not document --%s", name)
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--version"}, &out); !errors.Is(err, process.ErrExit) {
		t.Fatalf("--version: %v", err)
	}
	if got, want := out.String(), version.String(component)+"\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--maestro-url=http://m", "--retry-base-delay=0"},
		{"--maestro-url=http://m", "--leader-election-lease-duration=1s", "--leader-election-renew-deadline=2s"},
	} {
		var opts options
		if err := opts.parse(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	var opts options
	if err := opts.parse([]string{"--maestro-url=http://m", "--label-prefix=a/,b/", "--label-prefix", "c"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(opts.labelPrefixes, " "); got != "a/ b/ c" {
		t.Errorf("label prefixes %q", got)
	}
}

// runMainEnv makes the test binary run main() instead of the tests, so the tests can start
// the command as real processes without building it separately.
const runMainEnv = "CONSUMER_CONTROLLER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestTwoReplicasOneLeader runs two processes of the command as deployed (flags, kubeconfig
// file, leader election, ops address) against a real kube-apiserver and the Maestro stand-in
// on real PostgreSQL.
func TestTwoReplicasOneLeader(t *testing.T) {
	ourCRDs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	kube := testenv.StartKube(t, testenv.KubeOptions{
		CRDs: ourCRDs, AddToScheme: []func(*runtime.Scheme) error{clusterv1.AddToScheme},
	})
	maestroURL := startMaestro(t)
	if err := kube.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "conductor"}}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := writeKubeconfig(t, kube.Config)
	var replicas []*replica
	for i := range 2 {
		replicas = append(replicas, startReplica(t, fmt.Sprintf("replica-%d", i),
			"--kubeconfig="+kubeconfig,
			"--maestro-url="+maestroURL,
			"--label-prefix=env",
			"--leader-election-namespace=conductor",
			"--leader-election-lease-duration=3s", "--leader-election-renew-deadline=2s", "--leader-election-retry-period=200ms",
			"--retry-base-delay=50ms", "--retry-max-delay=1s",
			"--log-level=debug", "--log-format=json",
		))
	}
	for _, r := range replicas {
		for _, path := range []string{"/healthz", "/readyz"} {
			testenv.Eventually(t, timeout, func() (bool, error) {
				status, body, err := get("http://" + r.opsAddr + path)
				if status != http.StatusOK {
					return false, fmt.Errorf("%s %s: %d %s %v", r.name, path, status, body, err)
				}
				return true, nil
			})
		}
	}
	leader, standby := awaitLeader(t, replicas)

	m, err := maestro.New(maestro.Options{BaseURL: maestroURL})
	if err != nil {
		t.Fatal(err)
	}
	createJoinedCluster(t, kube.Client, "cluster1", map[string]string{"env": "dev", "other": "x"})
	awaitConsumer(t, m, "cluster1", map[string]string{"env": "dev"})
	_, metrics, _ := get("http://" + leader.opsAddr + "/metrics")
	for _, want := range []string{
		"conductor_consumer_consumers_created_total 1",
		`conductor_maestro_rest_requests_total{code="201",method="POST"} 1`,
		`conductor_consumer_reconciles_total{result="synced"}`,
		"controller_runtime_reconcile_total",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("the leader's /metrics lacks %s", want)
		}
	}
	if _, metrics, _ := get("http://" + standby.opsAddr + "/metrics"); strings.Contains(metrics, "conductor_consumer_consumers_created_total 1") {
		t.Error("the standby created consumers")
	}

	// SIGTERM: the leader hands the lease back and the standby takes over.
	leader.stop(t)
	testenv.Eventually(t, timeout, func() (bool, error) { return isLeader(standby), nil })
	createJoinedCluster(t, kube.Client, "cluster2", map[string]string{"env": "prod"})
	awaitConsumer(t, m, "cluster2", map[string]string{"env": "prod"})

	standby.stop(t)
	lease := &coordinationv1.Lease{}
	key := client.ObjectKey{Namespace: "conductor", Name: consumer.DefaultLeaderElection}
	if err := kube.Client.Get(t.Context(), key, lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("lease still held by %s after both replicas stopped", *h)
	}
}

// replica is one consumer-controller process.
type replica struct {
	name    string
	opsAddr string
	cmd     *exec.Cmd
	exited  chan struct{}
}

func startReplica(t *testing.T, name string, args ...string) *replica {
	t.Helper()
	r := &replica{name: name, opsAddr: freeAddr(t), exited: make(chan struct{})}
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(os.Args[0], append(args, "--ops-addr="+r.opsAddr)...)
	r.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = r.cmd.Wait()
		logFile.Close()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
		if t.Failed() {
			logs, _ := os.ReadFile(logPath)
			t.Logf("%s output:\n%s", name, logs)
		}
	})
	return r
}

// stop sends SIGTERM and expects a clean exit.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
	case <-time.After(timeout):
		t.Fatalf("%s did not stop on SIGTERM", r.name)
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("%s exited with %d", r.name, code)
	}
}

// isLeader reads controller-runtime's leader election gauge from the replica's /metrics.
func isLeader(r *replica) bool {
	_, metrics, _ := get("http://" + r.opsAddr + "/metrics")
	return strings.Contains(metrics, `leader_election_master_status{name="`+consumer.DefaultLeaderElection+`"} 1`)
}

func awaitLeader(t *testing.T, replicas []*replica) (leader, standby *replica) {
	t.Helper()
	testenv.Eventually(t, timeout, func() (bool, error) {
		return isLeader(replicas[0]) || isLeader(replicas[1]), nil
	})
	if isLeader(replicas[0]) && isLeader(replicas[1]) {
		t.Fatal("both replicas lead")
	}
	if isLeader(replicas[0]) {
		return replicas[0], replicas[1]
	}
	return replicas[1], replicas[0]
}

func createJoinedCluster(t *testing.T, c client.Client, name string, labels map[string]string) {
	t.Helper()
	cluster := &clusterv1.ManagedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       clusterv1.ManagedClusterSpec{HubAcceptsClient: true},
	}
	if err := c.Create(t.Context(), cluster); err != nil {
		t.Fatal(err)
	}
	meta.SetStatusCondition(&cluster.Status.Conditions, metav1.Condition{
		Type: clusterv1.ManagedClusterConditionJoined, Status: metav1.ConditionTrue, Reason: "Joined", Message: "joined",
	})
	if err := c.Status().Update(t.Context(), cluster); err != nil {
		t.Fatal(err)
	}
}

func awaitConsumer(t *testing.T, m *maestro.Client, name string, labels map[string]string) {
	t.Helper()
	testenv.Eventually(t, timeout, func() (bool, error) {
		c, err := m.FindByName(t.Context(), name)
		if err != nil {
			return false, err
		}
		if !maps.Equal(c.Labels, labels) {
			return false, fmt.Errorf("consumer %s has labels %v, want %v", name, c.Labels, labels)
		}
		return true, nil
	})
}

func startMaestro(t *testing.T) string {
	t.Helper()
	pool := testenv.Postgres(t).Pool(t)
	srv, err := devserver.New(devserver.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kubeconfig := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{"hub": {Server: cfg.Host, CertificateAuthorityData: cfg.CAData}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"admin": {
			ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
		}},
		Contexts:       map[string]*clientcmdapi.Context{"hub": {Cluster: "hub", AuthInfo: "admin"}},
		CurrentContext: "hub",
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(kubeconfig, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
