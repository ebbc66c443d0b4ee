package fanout

import (
	"testing"
	"time"
)

func TestDedup(t *testing.T) {
	type step struct {
		state State
		want  bool
	}
	const id = "uid-1"
	tests := []struct {
		name  string
		steps []step
	}{
		{"same state pushed twice reaches the agent once", []step{
			{State{ResourceID: id, Version: 3, Digest: 1}, true},
			{State{ResourceID: id, Version: 3, Digest: 1}, false},
		}},
		{"older version never after newer", []step{
			{State{ResourceID: id, Version: 5, Digest: 5}, true},
			{State{ResourceID: id, Version: 4, Digest: 4}, false},
			{State{ResourceID: id, Version: 6, Digest: 6}, true},
			{State{ResourceID: id, Version: 5, Digest: 5}, false},
		}},
		{"new state at the same version (labels changed, same generation)", []step{
			{State{ResourceID: id, Version: 2, Digest: 1}, true},
			{State{ResourceID: id, Version: 2, Digest: 2}, true},
			{State{ResourceID: id, Version: 2, Digest: 1}, false},
		}},
		{"deletion passes once, nothing older after it", []step{
			{State{ResourceID: id, Version: 2, Digest: 1}, true},
			{State{ResourceID: id, Version: 2, Deleted: true, Digest: 7}, true},
			{State{ResourceID: id, Version: 2, Deleted: true, Digest: 8}, false},
			{State{ResourceID: id, Version: 2, Digest: 1}, false},
			{State{ResourceID: id, Version: 1, Digest: 0}, false},
		}},
		{"resync deletion with the agent's older version still passes", []step{
			{State{ResourceID: id, Version: 9, Digest: 1}, true},
			{State{ResourceID: id, Version: 3, Deleted: true, Digest: 2}, true},
		}},
		{"deletion as first event", []step{
			{State{ResourceID: id, Version: 4, Deleted: true}, true},
			{State{ResourceID: id, Version: 4, Deleted: true}, false},
		}},
		{"unversioned events are told apart by content", []step{
			{State{ResourceID: id, Digest: 1}, true},
			{State{ResourceID: id, Digest: 1}, false},
			{State{ResourceID: id, Digest: 2}, true},
		}},
		{"events without resource id always pass", []step{
			{State{Digest: 1}, true},
			{State{Digest: 1}, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDedup(0, nil)
			for i, s := range tt.steps {
				if got := d.Admit(s.state); got != s.want {
					t.Fatalf("step %d %+v: admitted %v, want %v", i, s.state, got, s.want)
				}
			}
		})
	}
}

func TestDedupKeepsResourcesApart(t *testing.T) {
	d := NewDedup(0, nil)
	if !d.Admit(State{ResourceID: "a", Version: 2, Digest: 1}) || !d.Admit(State{ResourceID: "b", Version: 1, Digest: 1}) {
		t.Fatal("first states of two resources must both pass")
	}
}

func TestDedupForgetsOldTombstones(t *testing.T) {
	now := time.Unix(1000, 0)
	d := NewDedup(time.Minute, func() time.Time { return now })
	d.Admit(State{ResourceID: "gone", Version: 1, Deleted: true})
	now = now.Add(2 * time.Minute)
	for i := range sweepEvery {
		d.Admit(State{ResourceID: "live", Version: int64(i + 1)})
	}
	if d.Len() != 1 {
		t.Fatalf("remembered %d resources, want only the live one", d.Len())
	}
}

func TestDedupBoundsDigestsPerVersion(t *testing.T) {
	d := NewDedup(0, nil)
	for i := range 3 * digestsPerVersion {
		if !d.Admit(State{ResourceID: "x", Version: 1, Digest: uint64(i)}) {
			t.Fatalf("distinct state %d dropped", i)
		}
	}
	if n := len(d.entries["x"].digests); n != digestsPerVersion {
		t.Fatalf("kept %d digests, want at most %d", n, digestsPerVersion)
	}
}
