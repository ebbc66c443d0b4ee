package stack

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startRealMaestro runs an unmodified Maestro server beside the conductor, as maestro.md §5's
// verified recipe: `maestro migration` (a no-op on our schema, which proves it matches), then
// `maestro server --disable-message-broker=true` on the same database.
func (s *Stack) startRealMaestro(ctx context.Context) error {
	dbFlags, err := s.maestroDBFlags()
	if err != nil {
		return err
	}
	migration := exec.CommandContext(ctx, s.opts.MaestroBinary, append([]string{"migration"}, dbFlags...)...)
	if out, err := migration.CombinedOutput(); err != nil {
		return fmt.Errorf("maestro migration: %w\n%s", err, out)
	}
	ports := map[string]string{}
	for _, name := range []string{"http", "grpc", "health", "metrics"} {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		ports[name] = addr[strings.LastIndexByte(addr, ':')+1:]
	}
	logDir := filepath.Join(s.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	args := append([]string{"server", "--disable-message-broker=true", "--client-id=maestro-localstack",
		"--server-hostname=127.0.0.1", "--http-server-bindport=" + ports["http"], "--grpc-server-bindport=" + ports["grpc"],
		"--health-check-server-bindport=" + ports["health"], "--metrics-server-bindport=" + ports["metrics"]}, dbFlags...)
	s.Maestro = newForeignProcess("maestro", s.opts.MaestroBinary, logDir, "http://127.0.0.1:"+ports["health"]+"/healthcheck", args...)
	if err := s.Maestro.Start(); err != nil {
		return err
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s.MaestroURL = "http://127.0.0.1:" + ports["http"]
	return s.Maestro.WaitReady(readyCtx)
}

// maestroDBFlags writes the database settings as the files Maestro's --db-*-file flags read.
func (s *Stack) maestroDBFlags() ([]string, error) {
	dsn, err := url.Parse(s.MaestroDSN)
	if err != nil {
		return nil, err
	}
	password, _ := dsn.User.Password()
	dir := filepath.Join(s.Dir, "maestro-db")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	values := map[string]string{"host": dsn.Hostname(), "port": dsn.Port(), "name": strings.TrimPrefix(dsn.Path, "/"), "user": dsn.User.Username(), "password": password}
	flags := []string{"--db-sslmode=disable"}
	for key, value := range values {
		file := filepath.Join(dir, "db."+key)
		if err := os.WriteFile(file, []byte(value), 0o600); err != nil {
			return nil, err
		}
		flags = append(flags, fmt.Sprintf("--db-%s-file=%s", key, file))
	}
	return flags, nil
}
