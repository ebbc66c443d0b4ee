package testenv

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// errClosed is reported to tests that ask for a shared part after Run closed it.
var errClosed = errors.New("shared part already closed")

// SharedPostgres is one PostgreSQL cluster for all tests of a package. It starts
// on first use; close it from TestMain (see Run). The zero value is ready to use.
// Tests must not stop or restart it: use StartPostgres for that.
type SharedPostgres struct {
	// Options apply when the cluster starts.
	Options PostgresOptions

	mu      sync.Mutex
	cluster *PostgresCluster
	err     error // a failed start is not retried: every later test fails the same way
	closed  bool
}

// Cluster returns the shared cluster, starting it if needed.
func (s *SharedPostgres) Cluster(tb testing.TB) *PostgresCluster {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cluster == nil && s.err == nil {
		if s.closed {
			s.err = errClosed
		} else {
			// Not the test's context: the cluster outlives the test that starts it.
			s.cluster, s.err = NewPostgresCluster(context.Background(), s.Options)
		}
	}
	if s.err != nil {
		tb.Fatalf("testenv: shared PostgreSQL: %v", s.err)
	}
	return s.cluster
}

// NewDatabase is Cluster(tb).NewDatabase(tb): a fresh database with Maestro's
// schema, dropped when the test ends.
func (s *SharedPostgres) NewDatabase(tb testing.TB) *PostgresDB {
	tb.Helper()
	return s.Cluster(tb).NewDatabase(tb)
}

// Close stops the cluster if it was started.
func (s *SharedPostgres) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.cluster == nil {
		return nil
	}
	c := s.cluster
	s.cluster, s.err = nil, errClosed
	return c.Close()
}

// SharedKube is one control plane for all tests of a package. It starts on
// first use; close it from TestMain (see Run). The zero value is ready to use.
// Tests share its objects, so each should use names of its own.
type SharedKube struct {
	// Options apply when the control plane starts.
	Options KubeOptions

	mu     sync.Mutex
	env    *KubeEnv
	err    error
	closed bool
}

// Env returns the shared control plane, starting it if needed.
func (s *SharedKube) Env(tb testing.TB) *KubeEnv {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env == nil && s.err == nil {
		if s.closed {
			s.err = errClosed
		} else {
			s.env, s.err = NewKubeEnv(s.Options)
		}
	}
	if s.err != nil {
		tb.Fatalf("testenv: shared kube-apiserver: %v", s.err)
	}
	return s.env
}

// Close stops the control plane if it was started.
func (s *SharedKube) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.env == nil {
		return nil
	}
	env := s.env
	s.env, s.err = nil, errClosed
	return env.Close()
}
