package dbservice

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func makeSequenceID(at time.Time, node, step int64) string {
	v := (at.UnixMilli()-snowflakeEpochMillis)<<(snowflakeNodeBits+snowflakeStepBits) | node<<snowflakeStepBits | step
	return strconv.FormatInt(v, 10)
}

func TestParseSequenceIDOfRealAgent(t *testing.T) {
	// ce-sequenceid values recorded from the sdk-go work agent (shared/reference/wire), node 1.
	for id, want := range map[string]string{
		"2126368142690095104": "2026-11-27T17:30:45.884Z",
		"2126368142790758400": "2026-11-27T17:30:45.908Z",
		"2126368150894153728": "2026-11-27T17:30:47.84Z",
	} {
		seq, err := ParseSequenceID(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := time.UnixMilli(seq.Millis).UTC().Format("2006-01-02T15:04:05.999Z"); got != want || seq.Node != 1 || seq.Step != 0 {
			t.Errorf("%s: got time %s node %d step %d, want %s node 1 step 0", id, got, seq.Node, seq.Step, want)
		}
	}
}

func TestSequenceNewer(t *testing.T) {
	base := time.Date(2026, 11, 27, 17, 30, 45, 0, time.UTC)
	older, newer := makeSequenceID(base, 1, 5), makeSequenceID(base.Add(time.Millisecond), 1, 0)
	cases := []struct {
		name              string
		candidate, stored string
		want              bool
		wantErr           error
	}{
		{"first status", older, "", true, nil},
		{"later timestamp", newer, older, true, nil},
		{"earlier timestamp", older, newer, false, nil},
		{"same time higher step", makeSequenceID(base, 1, 6), older, true, nil},
		{"same time lower step", makeSequenceID(base, 1, 4), older, false, nil},
		{"same id", older, older, false, nil},
		{"other node", makeSequenceID(base.Add(time.Hour), 2, 0), older, false, ErrSequenceNodeMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := SequenceNewer(c.candidate, c.stored)
			if !errors.Is(err, c.wantErr) || got != c.want {
				t.Fatalf("got (%v, %v), want (%v, %v)", got, err, c.want, c.wantErr)
			}
		})
	}
	if _, err := SequenceNewer("", older); err == nil {
		t.Error("an empty candidate must be an error")
	}
	if _, err := SequenceNewer("not-a-number", older); err == nil {
		t.Error("a malformed candidate must be an error")
	}
}
