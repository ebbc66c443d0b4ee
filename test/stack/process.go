package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Process is one conductor binary run as a real OS process, with its output in a log file.
// It can be stopped, killed and started again with the same arguments, for fault tests.
type Process struct {
	Name string
	// OpsAddr is its /healthz, /readyz, /metrics address.
	OpsAddr string

	binary   string
	args     []string
	logDir   string
	readyURL string

	mu   sync.Mutex // guards cmd and done
	cmd  *exec.Cmd
	done chan struct{}
}

func newProcess(name, binary, logDir, opsAddr string, args ...string) *Process {
	return &Process{Name: name, binary: binary, args: append(args, "--ops-addr="+opsAddr), logDir: logDir, OpsAddr: opsAddr,
		readyURL: "http://" + opsAddr + "/readyz"}
}

// newForeignProcess is a process that is not ours (e.g. a real Maestro server) with its own
// readiness URL.
func newForeignProcess(name, binary, logDir, readyURL string, args ...string) *Process {
	return &Process{Name: name, binary: binary, args: args, logDir: logDir, readyURL: readyURL}
}

// LogPath is the file the process writes stdout and stderr to (appended across restarts).
func (p *Process) LogPath() string { return filepath.Join(p.logDir, p.Name+".log") }

// Start launches the process; it does not wait for readiness.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is already running", p.Name)
	}
	logFile, err := os.OpenFile(p.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.binary, p.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// Stop sends SIGTERM (graceful shutdown) and waits up to timeout before killing.
func (p *Process) Stop(timeout time.Duration) error { return p.signal(syscall.SIGTERM, timeout) }

// Kill ends the process at once, as a crash or an OOM kill would.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 10*time.Second) }

func (p *Process) signal(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within %s after %s; killed", p.Name, timeout, sig)
	}
}

// Running reports whether the process has been started and not yet exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// WaitReady polls the readiness URL (/readyz for ours) until it answers 200, the process exits, or ctx ends.
func (p *Process) WaitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if !p.Running() {
			return fmt.Errorf("%s exited; see %s", p.Name, p.LogPath())
		}
		resp, err := client.Get(p.readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s not ready; see %s", p.Name, p.LogPath()), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
