package testenv

import (
	"testing"
	"time"
)

const (
	firstPollInterval = 5 * time.Millisecond
	maxPollInterval   = 100 * time.Millisecond
)

// Eventually polls condition until it returns true with a nil error, and fails
// the test if that has not happened within timeout. An error does not stop the
// polling: parts that are starting up or reconnecting fail for a while, so the
// error is only reported (the last one) when the deadline passes.
// Call it from the test goroutine only, like tb.Fatal.
func Eventually(tb testing.TB, timeout time.Duration, condition func() (bool, error)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	interval := firstPollInterval
	for {
		done, err := condition()
		if done && err == nil {
			return
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			if err != nil {
				tb.Fatalf("condition not met within %v: last error: %v", timeout, err)
			} else {
				tb.Fatalf("condition not met within %v", timeout)
			}
			return // only reached with a TB whose Fatalf returns
		}
		time.Sleep(min(interval, remaining))
		interval = min(2*interval, maxPollInterval)
	}
}
