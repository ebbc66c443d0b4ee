package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The flags below are the binaries' public interface (each documents them in --help); keeping
// them in one place makes a renamed flag fail here first.

func (s *Stack) startProcesses(ctx, _ context.Context) error {
	logDir := filepath.Join(s.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	certFile, keyFile, err := s.writeServingCert()
	if err != nil {
		return err
	}
	if s.GatewayAddr, err = freeAddr(); err != nil {
		return err
	}
	bin := func(name string) string { return filepath.Join(s.opts.BinDir, name) }
	common := []string{"--log-level=debug"}
	nats := "--nats-url=" + s.NATSURL
	newProc := func(name, binary string, args ...string) (*Process, error) {
		ops, err := freeAddr()
		if err != nil {
			return nil, err
		}
		return newProcess(name, bin(binary), logDir, ops, append(append([]string{}, common...), args...)...), nil
	}

	if s.Gateway, err = newProc("grpc-gateway", "grpc-gateway",
		nats, "--listen-addr="+s.GatewayAddr, "--kubeconfig="+s.KubeconfigPath,
		"--tls-cert-file="+certFile, "--tls-key-file="+keyFile, "--client-ca-file="+s.CAPath); err != nil {
		return err
	}
	for i := range s.opts.WorkServiceReplicas {
		p, err := newProc("work-service-"+strconv.Itoa(i), "work-service", nats, "--kubeconfig="+s.KubeconfigPath)
		if err != nil {
			return err
		}
		s.WorkServices = append(s.WorkServices, p)
	}
	for i := range s.opts.DBServiceReplicas {
		p, err := newProc("db-service-"+strconv.Itoa(i), "db-service", nats, "--db-url="+s.MaestroDSN, "--scan-period=10s")
		if err != nil {
			return err
		}
		s.DBServices = append(s.DBServices, p)
	}
	if s.ConsumerController, err = newProc("consumer-controller", "consumer-controller",
		"--kubeconfig="+s.KubeconfigPath, "--maestro-url="+s.MaestroURL, "--leader-elect=false"); err != nil {
		return err
	}
	for _, p := range s.Processes() {
		if p == s.Maestro {
			continue // started with the Maestro API
		}
		if err := p.Start(); err != nil {
			return err
		}
	}
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, p := range s.Processes() {
		if err := p.WaitReady(readyCtx); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stack) writeServingCert() (certFile, keyFile string, err error) {
	certPEM, keyPEM, err := s.CA.ServingCert("localhost", "127.0.0.1")
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(s.Dir, "gateway.crt"), filepath.Join(s.Dir, "gateway.key")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("writing gateway key: %w", err)
	}
	return certFile, keyFile, nil
}
