package testenv

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Background runs fn (a component's Run) until the returned stop is called or the test ends,
// and fails the test if fn returns an error or does not return within 30 s of being stopped.
// Stop is idempotent, so a test can stop a component early (a replica going away) and still
// rely on the cleanup.
func Background(tb testing.TB, name string, fn func(ctx context.Context) error) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("%s: %v", name, err)
				}
			case <-time.After(30 * time.Second):
				tb.Errorf("%s did not stop within 30s of its context ending", name)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}
