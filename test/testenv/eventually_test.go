package testenv_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// recordingTB records a fatal failure instead of ending the goroutine, so the
// test can look at it.
type recordingTB struct {
	testing.TB
	fatal string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	testenv.Eventually(t, 5*time.Second, func() (bool, error) {
		calls++
		if calls < 3 {
			return false, errors.New("not yet")
		}
		return true, nil
	})
	if calls != 3 {
		t.Errorf("condition called %d times, want 3", calls)
	}
}

func TestEventuallyReportsTheLastErrorAtTheDeadline(t *testing.T) {
	rec := &recordingTB{TB: t}
	start := time.Now()
	testenv.Eventually(rec, 50*time.Millisecond, func() (bool, error) {
		return false, errors.New("connection refused")
	})
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("gave up after %v, want about 50ms", elapsed)
	}
	if !strings.Contains(rec.fatal, "connection refused") {
		t.Errorf("failure message %q does not carry the last error", rec.fatal)
	}
}
