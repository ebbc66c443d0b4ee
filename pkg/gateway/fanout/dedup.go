package fanout

import (
	"slices"
	"time"
)

// State identifies what an event says about one resource, for Dedup.
type State struct {
	// ResourceID is the resourceid extension; events without one are never filtered.
	ResourceID string
	// Version is the resourceversion as a number (the generation for works); 0 means the event
	// carries none, and only Digest tells its states apart.
	Version int64
	// Deleted is true when the event carries deletiontimestamp.
	Deleted bool
	// Digest summarises the content that makes a state distinct (data and extensions, not the
	// per-push id, time or action).
	Digest uint64
}

// Defaults of Dedup.
const (
	// DefaultTombstoneTTL is how long a forwarded deletion is remembered, so that a slower
	// replica's older push of the deleted resource is still held back.
	DefaultTombstoneTTL = 10 * time.Minute
	// digestsPerVersion bounds the distinct states remembered for one version (works change
	// labels or annotations without a new generation).
	digestsPerVersion = 8
	// sweepEvery is how often tombstones are pruned, counted in Admit calls.
	sweepEvery = 1024
)

// Dedup decides, per resource, whether an event is new to one stream: every distinct state once,
// never an older version than already forwarded, each deletion once. It is not safe for
// concurrent use.
type Dedup struct {
	entries      map[string]*dedupEntry
	tombstoneTTL time.Duration
	now          func() time.Time
	admits       int
}

type dedupEntry struct {
	version   int64
	digests   []uint64 // states forwarded at version, oldest first
	deleted   bool
	deletedAt time.Time
}

// NewDedup returns an empty filter. tombstoneTTL <= 0 means DefaultTombstoneTTL; now may be nil.
func NewDedup(tombstoneTTL time.Duration, now func() time.Time) *Dedup {
	if tombstoneTTL <= 0 {
		tombstoneTTL = DefaultTombstoneTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Dedup{entries: map[string]*dedupEntry{}, tombstoneTTL: tombstoneTTL, now: now}
}

// Admit reports whether the event with state s should be forwarded, and records it if so.
func (d *Dedup) Admit(s State) bool {
	if s.ResourceID == "" {
		return true
	}
	d.admits++
	if d.admits%sweepEvery == 0 {
		d.sweep()
	}
	e, ok := d.entries[s.ResourceID]
	if !ok {
		e = &dedupEntry{}
		d.entries[s.ResourceID] = e
		e.record(s, d.now())
		return true
	}
	if !e.admits(s) {
		return false
	}
	e.record(s, d.now())
	return true
}

// Len is the number of resources remembered.
func (d *Dedup) Len() int { return len(d.entries) }

func (e *dedupEntry) admits(s State) bool {
	switch {
	case s.Deleted:
		// The deletion may carry any version (a resync deletion carries the agent's).
		return !e.deleted
	case e.deleted:
		// Only a newer version could be a resource that came back.
		return s.Version > e.version
	case s.Version == 0 || s.Version == e.version:
		return !slices.Contains(e.digests, s.Digest)
	default:
		return s.Version > e.version
	}
}

func (e *dedupEntry) record(s State, now time.Time) {
	if s.Deleted {
		e.deleted, e.deletedAt, e.digests = true, now, nil
		e.version = max(e.version, s.Version)
		return
	}
	e.deleted = false
	if s.Version > e.version {
		e.version, e.digests = s.Version, e.digests[:0]
	}
	if len(e.digests) == digestsPerVersion {
		e.digests = append(e.digests[:0], e.digests[1:]...)
	}
	e.digests = append(e.digests, s.Digest)
}

// sweep forgets deletions older than the tombstone TTL.
func (d *Dedup) sweep() {
	cutoff := d.now().Add(-d.tombstoneTTL)
	for id, e := range d.entries {
		if e.deleted && e.deletedAt.Before(cutoff) {
			delete(d.entries, id)
		}
	}
}
