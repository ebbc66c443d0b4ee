// Command devhub runs the development stand-in for the OCM hub's registration controller
// (test/devhub) against any hub, e.g. the kind hub of test/e2e/kind. With --init it writes a
// new CA (and the gateway's serving certificate) and exits.
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

	"k8s.io/client-go/tools/clientcmd"

	"github.com/cloudevents-conductor/conductor/test/devhub"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devhub:", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "hub kubeconfig")
	dir := flag.String("dir", ".", "directory of ca.crt and ca.key")
	initCA := flag.Bool("init", false, "write a new CA and a gateway serving certificate for --hosts into --dir, then exit")
	hosts := flag.String("hosts", "localhost,127.0.0.1", "gateway host names and IPs (with --init)")
	tokenFile := flag.String("bootstrap-token-file", "", "write a bootstrap token for klusterlets to this file")
	flag.Parse()
	if *initCA {
		return writeCA(*dir, strings.Split(*hosts, ","))
	}
	certPEM, err := os.ReadFile(filepath.Join(*dir, "ca.crt"))
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(*dir, "ca.key"))
	if err != nil {
		return err
	}
	ca, err := devhub.LoadCA(certPEM, keyPEM)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	hub, err := devhub.New(ctx, devhub.Options{Config: cfg, CA: ca, AutoAccept: true, Logger: slog.Default()})
	if err != nil {
		return err
	}
	if *tokenFile != "" {
		token, err := hub.BootstrapToken(ctx, 24*time.Hour)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*tokenFile, []byte(token), 0o600); err != nil {
			return err
		}
	}
	return hub.Run(ctx)
}

func writeCA(dir string, hosts []string) error {
	ca, err := devhub.NewCA("conductor-dev-ca")
	if err != nil {
		return err
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	certPEM, servingKeyPEM, err := ca.ServingCert(hosts...)
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.crt": ca.CertPEM, "ca.key": keyPEM, "tls.crt": certPEM, "tls.key": servingKeyPEM}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
