// Command localstack is `make run`: the whole hub on this machine from real processes, with
// simulated klusterlets, until Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cloudevents-conductor/conductor/test/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

func run() error {
	binDir := flag.String("bin", "bin", "directory holding the conductor binaries (make build)")
	dir := flag.String("dir", ".run", "directory for logs, certificates and the hub kubeconfig")
	clusters := flag.String("clusters", "cluster1", "comma-separated simulated klusterlets to start")
	maestroBin := flag.String("maestro-bin", "", "path of a real Maestro binary to run instead of the consumer API stand-in")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	_ = os.RemoveAll(absDir)
	absBin, err := filepath.Abs(*binDir)
	if err != nil {
		return err
	}
	started := time.Now()
	s, err := stack.Start(ctx, stack.Options{Dir: absDir, BinDir: absBin, MaestroBinary: *maestroBin, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		logger.Info("stopping the stack")
		if err := s.Close(); err != nil {
			logger.Error("stopping", "err", err)
		}
	}()
	for _, name := range strings.Split(*clusters, ",") {
		k, err := s.StartKlusterlet(ctx, name)
		if err != nil {
			return err
		}
		defer k.Stop()
	}
	token, err := s.BootstrapToken(ctx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(absDir, "bootstrap-token"), []byte(token), 0o600); err != nil {
		return err
	}
	printWelcome(s, *clusters, time.Since(started))
	<-ctx.Done()
	return nil
}

func printWelcome(s *stack.Stack, clusters string, took time.Duration) {
	first := strings.Split(clusters, ",")[0]
	fmt.Printf(`
The hub is up (%[1]s). Klusterlets joined: %[2]s
  gRPC endpoint (TLS, CA %[3]s): %[4]s
  hub kubeconfig:  export KUBECONFIG=%[5]s
  Maestro database: %[6]s
  Maestro REST API (the development stand-in unless --maestro-bin): %[7]s
  NATS: %[8]s
  logs: %[9]s/logs/

Try it:
  bin/kubectl get managedclusters
  bin/kubectl apply -f - <<'YAML'
apiVersion: work.open-cluster-management.io/v1
kind: ManifestWork
metadata: {name: hello, namespace: %[10]s}
spec:
  workload:
    manifests:
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: hello, namespace: default}, data: {greeting: hi}}
YAML
  bin/kubectl get manifestwork -n %[10]s hello -o jsonpath='{.status.conditions[*].type}'   # Applied Available
  go run ./test/maestroctl --dsn '%[6]s' create --consumer %[10]s   # a Maestro resource, written as Maestro writes it
  curl -s %[7]s/api/maestro/v1/consumers
  go run ./test/simagent --target %[4]s --ca-file %[3]s --bootstrap-token-file %[9]s/bootstrap-token --cluster cluster2   # another klusterlet

Ctrl-C stops everything.
`, took.Round(time.Second), clusters, s.CAPath, s.GatewayAddr, s.KubeconfigPath, s.MaestroDSN, s.MaestroURL, s.NATSURL, s.Dir, first)
}
