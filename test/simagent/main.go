// Command simagent runs simulated klusterlets (test/agent) against a conductor gateway: one to try
// the hub by hand, or many as a load generator.
//
//	simagent --target 127.0.0.1:8090 --ca-file .run/ca.crt --bootstrap-token-file token --cluster cluster2
//	simagent ... --cluster load --count 200     # clusters load-0 ... load-199
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cloudevents-conductor/conductor/pkg/process"
	"github.com/cloudevents-conductor/conductor/test/agent"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "simagent:", err)
		os.Exit(1)
	}
}

func run() error {
	target := flag.String("target", "127.0.0.1:8090", "gateway host:port")
	caFile := flag.String("ca-file", "", "PEM CA of the gateway's serving certificate (caData)")
	tokenFile := flag.String("bootstrap-token-file", "", "file holding the bootstrap token")
	cluster := flag.String("cluster", "cluster1", "cluster name, or name prefix with --count")
	count := flag.Int("count", 1, "number of klusterlets; more than 1 names them <cluster>-<i>")
	report := flag.Duration("report-interval", 10*time.Second, "how often to print what the agents hold")
	flag.Parse()

	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		return err
	}
	token, err := process.ReadSecretFile(*tokenFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	names := []string{*cluster}
	if *count > 1 {
		names = names[:0]
		for i := range *count {
			names = append(names, fmt.Sprintf("%s-%d", *cluster, i))
		}
	}
	klusterlets, err := startAll(ctx, names, agent.KlusterletOptions{Target: *target, CAPEM: caPEM, BootstrapToken: token, Logger: logger})
	for _, k := range klusterlets {
		defer k.Stop()
	}
	if err != nil {
		return err
	}
	fmt.Printf("%d klusterlets joined\n", len(klusterlets))
	ticker := time.NewTicker(*report)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			works := 0
			for _, k := range klusterlets {
				works += len(k.Work.Works())
			}
			fmt.Printf("%s: %d klusterlets hold %d works\n", time.Now().Format(time.TimeOnly), len(klusterlets), works)
		}
	}
}

// startAll joins the klusterlets with bounded concurrency, as a fleet coming up.
func startAll(ctx context.Context, names []string, base agent.KlusterletOptions) ([]*agent.Klusterlet, error) {
	var (
		mu   sync.Mutex
		out  []*agent.Klusterlet
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 16)
	)
	for _, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			opts := base
			opts.ClusterName = name
			k, err := agent.StartKlusterlet(ctx, opts)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			out = append(out, k)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return out, fmt.Errorf("%d of %d klusterlets failed to join, first: %w", len(errs), len(names), errs[0])
	}
	return out, nil
}
