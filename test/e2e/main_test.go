// Package e2e is the end-to-end suite: simulated klusterlets against the whole hub, run as real
// processes by test/stack. `make e2e` runs it; `make test` runs it too.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudevents-conductor/conductor/test/stack"
)

// hub is the stack every test shares; fault tests restore what they break.
var hub *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "conductor-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir := os.Getenv("E2E_BIN_DIR")
	if binDir == "" {
		binDir = filepath.Join(dir, "bin")
		if err := buildBinaries(binDir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building the conductor binaries:", err)
			return 1
		}
	}
	logLevel := slog.LevelWarn
	if testing.Verbose() {
		logLevel = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hub, err = stack.Start(ctx, stack.Options{Dir: dir, BinDir: binDir, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the stack:", err, "(logs in", dir+")")
		return 1
	}
	code := m.Run()
	if err := hub.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stopping the stack:", err)
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "e2e: process logs kept in", filepath.Join(dir, "logs"))
		return code
	}
	_ = os.RemoveAll(dir)
	return 0
}

// buildBinaries builds the four binaries from this checkout, so `go test ./...` needs no make step.
func buildBinaries(out string) error {
	cmd := exec.Command("go", "build", "-o", out+"/", "../../cmd/grpc-gateway", "../../cmd/work-service", "../../cmd/db-service", "../../cmd/consumer-controller")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}
