package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const (
	pgReadyTimeout = 30 * time.Second
	pgStopTimeout  = 30 * time.Second
	// A unix socket path must fit in sun_path (108 bytes on Linux).
	maxSocketDirLen = 80
	pgStartAttempts = 3

	clusterDirPrefix = "testenv-pg-"
	// ownerFile holds the pid of the test binary that made a cluster directory.
	ownerFile = "testenv-owner.pid"
)

// errPortTaken means another process bound the chosen port before postgres did.
var errPortTaken = errors.New("port already in use")

// localPostgres is a throwaway PostgreSQL cluster: one temporary directory holds
// the data directory, the unix socket and the server log.
type localPostgres struct {
	binDir string
	dir    string
	port   int
	cred   *syscall.Credential // run as user postgres; nil unless we are root

	mu   sync.Mutex
	proc *pgProcess // nil while stopped
}

// pgProcess is one run of the postmaster.
type pgProcess struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

func newLocalPostgres(ctx context.Context, binDir string) (*localPostgres, error) {
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := makeClusterDir(cred)
	if err != nil {
		return nil, err
	}
	p := &localPostgres{binDir: binDir, dir: dir, cred: cred}
	if err := p.initdb(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if p.port, err = freePort(); err != nil {
			break
		}
		err = p.start(ctx)
		if !errors.Is(err, errPortTaken) || attempt == pgStartAttempts {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// postgresCredential returns the user postgres's identity when running as root,
// because the server refuses to run as root.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as user postgres: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid of user postgres: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid of user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// makeClusterDir creates the cluster's directory. Not t.TempDir: its parent is
// private to the test user, so user postgres could not enter it.
func makeClusterDir(cred *syscall.Credential) (string, error) {
	base := os.TempDir()
	if len(base) > maxSocketDirLen-20 {
		base = "/tmp"
	}
	removeAbandonedClusterDirs(base)
	dir, err := os.MkdirTemp(base, clusterDirPrefix)
	if err != nil {
		return "", fmt.Errorf("creating cluster directory: %w", err)
	}
	owner := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, ownerFile), owner, 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("recording the cluster's owner: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("handing cluster directory to user postgres: %w", err)
		}
	}
	return dir, nil
}

// removeAbandonedClusterDirs deletes the directories of test binaries that died
// without running their cleanups (a test timeout panics past them). Their
// servers are already gone: they got the parent death signal.
func removeAbandonedClusterDirs(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, clusterDirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being set up right now, or not ours
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || pid <= 0 {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (p *localPostgres) dataDir() string { return filepath.Join(p.dir, "data") }
func (p *localPostgres) logPath() string { return filepath.Join(p.dir, "postgres.log") }

// adminDSN connects over TCP to the maintenance database as the superuser.
func (p *localPostgres) adminDSN() string {
	return p.dsn("postgres")
}

func (p *localPostgres) dsn(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, database)
}

func (p *localPostgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, name), args...)
	cmd.Dir = p.dir // user postgres may not be able to enter our working directory
	cmd.Env = withoutLibpqEnv(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: p.cred,
		Setpgid:    true, // keep terminal signals away; lets us kill the whole server
	}
	setParentDeathSignal(cmd.SysProcAttr)
	return cmd
}

// withoutLibpqEnv drops PG* variables, which would otherwise redirect the
// server and tools to some other cluster or data directory.
func withoutLibpqEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "PG")
	})
}

func (p *localPostgres) initdb(ctx context.Context) error {
	cmd := p.command(ctx, "initdb", "-D", p.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// start runs the postmaster and waits until it accepts connections.
func (p *localPostgres) start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		return nil
	}
	logFile, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening server log: %w", err)
	}
	defer func() { _ = logFile.Close() }() // the server keeps its own descriptor

	// Not tied to ctx: the server must outlive the call that starts it.
	cmd := p.command(context.Background(), "postgres", "-D", p.dataDir(),
		"-k", p.dir, "-p", strconv.Itoa(p.port), "-c", "listen_addresses=127.0.0.1",
		// Durability is worthless for a throwaway cluster; speed is not.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	proc := &pgProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		proc.waitErr = cmd.Wait()
		close(proc.exited)
	}()
	if err := p.waitReady(ctx, proc); err != nil {
		proc.kill()
		return err
	}
	p.proc = proc
	return nil
}

func (p *localPostgres) waitReady(ctx context.Context, proc *pgProcess) error {
	ctx, cancel := context.WithTimeout(ctx, pgReadyTimeout)
	defer cancel()
	for {
		conn, err := pgconn.Connect(ctx, p.adminDSN())
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-proc.exited:
			tail := p.logTail()
			if strings.Contains(tail, "could not create any TCP/IP sockets") {
				return fmt.Errorf("postgres on port %d: %w", p.port, errPortTaken)
			}
			return fmt.Errorf("postgres exited (%v); log:\n%s", proc.waitErr, tail)
		case <-ctx.Done():
			return fmt.Errorf("postgres not accepting connections within %v: %w; log:\n%s",
				pgReadyTimeout, err, p.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop shuts the server down with the given signal: SIGINT is PostgreSQL's fast
// shutdown (sessions are terminated cleanly), SIGQUIT its immediate shutdown.
func (p *localPostgres) stop(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	proc := p.proc
	if proc == nil {
		return nil
	}
	p.proc = nil
	_ = proc.cmd.Process.Signal(sig)
	select {
	case <-proc.exited:
		return nil
	case <-time.After(pgStopTimeout):
		proc.kill()
		return fmt.Errorf("postgres did not stop within %v; killed it", pgStopTimeout)
	}
}

func (p *localPostgres) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc != nil
}

// close stops the server and removes everything it wrote.
func (p *localPostgres) close() error {
	stopErr := p.stop(syscall.SIGQUIT)
	if err := os.RemoveAll(p.dir); err != nil {
		return errors.Join(stopErr, fmt.Errorf("removing cluster directory: %w", err))
	}
	return stopErr
}

// kill ends the postmaster and every backend it forked, and reaps it.
func (proc *pgProcess) kill() {
	_ = syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGKILL)
	<-proc.exited
}

func (p *localPostgres) logTail() string {
	const maxTail = 4096
	b, err := os.ReadFile(p.logPath())
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	if len(b) > maxTail {
		b = b[len(b)-maxTail:]
	}
	return string(b)
}
