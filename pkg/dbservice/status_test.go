package dbservice

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var statusBase = time.Date(2026, 11, 27, 17, 30, 45, 0, time.UTC)

func seqAt(offset time.Duration) string { return makeSequenceID(statusBase.Add(offset), 1, 0) }

func TestWriteStatusAccepted(t *testing.T) {
	e := newDBEnv(t)
	id := e.createResource(t, "cluster1")
	notes := recordNotifications(t, e.db, "status_events")
	res, err := e.store.Resource(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != nil {
		t.Fatalf("a new resource holds JSON null status, which must read as no status; got %s", res.Status)
	}

	outcome, err := e.store.WriteStatus(t.Context(), parseStatus(t, agentStatus(t, id, "cluster1", 1, seqAt(0))))
	if err != nil || outcome != StatusAccepted {
		t.Fatalf("got (%v, %v), want accepted", outcome, err)
	}

	view := readStatusAsMaestro(t, e.pool, id)
	if view.ObservedVersion != 1 || view.SequenceID != seqAt(0) {
		t.Errorf("Maestro reads ObservedVersion %d SequenceID %s", view.ObservedVersion, view.SequenceID)
	}
	if len(view.Conditions) != 2 || view.Conditions[0]["type"] != "Applied" {
		t.Errorf("conditions not stored: %v", view.Conditions)
	}
	// The spec's metadata (what the source created) replaces the agent's, plus creationTimestamp.
	if view.Metadata["name"] != "demo-work" || view.Metadata["creationTimestamp"] != res.CreatedAt.UTC().Format(time.RFC3339) {
		t.Errorf("metadata = %v, want the spec metadata with creationTimestamp %s", view.Metadata, res.CreatedAt.UTC().Format(time.RFC3339))
	}
	if _, agentLabel := view.Metadata["labels"].(map[string]any)["cloudevents.open-cluster-management.io/originalsource"]; agentLabel {
		t.Error("the agent's metadata must not be stored")
	}
	var resourceVersionType, sequenceType string
	if err := e.pool.QueryRow(t.Context(), `SELECT jsonb_typeof(status->'resourceversion'), jsonb_typeof(status->'sequenceid')
		FROM resources WHERE id = $1`, id).Scan(&resourceVersionType, &sequenceType); err != nil {
		t.Fatal(err)
	}
	if resourceVersionType != "number" || sequenceType != "string" {
		t.Errorf("resourceversion stored as %s, sequenceid as %s", resourceVersionType, sequenceType)
	}

	rows := statusEventRows(t, e.pool)
	if len(rows) != 1 {
		t.Fatalf("want one status event, got %d", len(rows))
	}
	r := rows[0]
	if r.Type != "StatusUpdate" || r.ResourceID != id || r.ResourceSource != "" || r.ResourceType != "" ||
		r.PayloadType != "null" || r.StatusType != "null" {
		t.Errorf("status event row %+v is not what Maestro writes for StatusUpdate", r)
	}
	if got := notes.next(t); got != r.ID {
		t.Errorf("NOTIFY status_events payload %q, want the event id %q", got, r.ID)
	}
}

func TestWriteStatusDroppedBranches(t *testing.T) {
	e := newDBEnv(t)
	id := e.createResource(t, "cluster1")
	ctx := t.Context()
	first := agentStatus(t, id, "cluster1", 1, seqAt(time.Second))
	if outcome, err := e.store.WriteStatus(ctx, parseStatus(t, first)); err != nil || outcome != StatusAccepted {
		t.Fatalf("first status: (%v, %v)", outcome, err)
	}
	notes := recordNotifications(t, e.db, "status_events")
	var stored []byte
	if err := e.pool.QueryRow(ctx, `SELECT status FROM resources WHERE id = $1`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		evt  func() *AgentStatus
		want StatusOutcome
	}{
		{"stale version", func() *AgentStatus {
			return parseStatus(t, agentStatus(t, id, "cluster1", 2, seqAt(2*time.Second)))
		}, StatusStaleVersion},
		{"older sequence id", func() *AgentStatus {
			return parseStatus(t, agentStatus(t, id, "cluster1", 1, seqAt(0)))
		}, StatusStaleSequence},
		{"same sequence id", func() *AgentStatus {
			return parseStatus(t, agentStatus(t, id, "cluster1", 1, seqAt(time.Second)))
		}, StatusStaleSequence},
		{"duplicate", func() *AgentStatus { return parseStatus(t, first) }, StatusDuplicate},
		{"missing resource", func() *AgentStatus {
			return parseStatus(t, agentStatus(t, "no-such-resource", "cluster1", 1, seqAt(3*time.Second)))
		}, StatusMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outcome, err := e.store.WriteStatus(ctx, c.evt())
			if err != nil || outcome != c.want {
				t.Fatalf("got (%v, %v), want %v", outcome, err, c.want)
			}
		})
	}
	var after []byte
	if err := e.pool.QueryRow(ctx, `SELECT status FROM resources WHERE id = $1`, id).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if string(after) != string(stored) {
		t.Errorf("a dropped status changed the row:\nbefore %s\nafter  %s", stored, after)
	}
	if n := len(statusEventRows(t, e.pool)); n != 1 {
		t.Errorf("dropped statuses must not add status events: %d rows", n)
	}
	notes.expectNone(t, e.pool)
}

func TestWriteStatusNewerSequenceReplaces(t *testing.T) {
	e := newDBEnv(t)
	id := e.createResource(t, "cluster1")
	ctx := t.Context()
	for i, seq := range []string{seqAt(0), makeSequenceID(statusBase, 1, 1), seqAt(time.Millisecond)} {
		outcome, err := e.store.WriteStatus(ctx, parseStatus(t, agentStatus(t, id, "cluster1", 1, seq)))
		if err != nil || outcome != StatusAccepted {
			t.Fatalf("status %d: (%v, %v)", i, outcome, err)
		}
		if got := readStatusAsMaestro(t, e.pool, id).SequenceID; got != seq {
			t.Fatalf("status %d: stored sequence %s, want %s", i, got, seq)
		}
	}
	if n := len(statusEventRows(t, e.pool)); n != 3 {
		t.Errorf("want 3 StatusUpdate rows, got %d", n)
	}
}

func TestWriteStatusErrors(t *testing.T) {
	e := newDBEnv(t)
	id := e.createResource(t, "cluster1")
	e.createResource(t, "cluster2")
	ctx := t.Context()

	_, err := e.store.WriteStatus(ctx, parseStatus(t, agentStatus(t, id, "cluster2", 1, seqAt(0))))
	var mismatch *ConsumerMismatchError
	if !errors.As(err, &mismatch) || mismatch.Consumer != "cluster1" {
		t.Fatalf("wrong consumer: want ConsumerMismatchError, got %v", err)
	}

	if _, err := e.store.WriteStatus(ctx, parseStatus(t, agentStatus(t, id, "cluster1", 1, seqAt(0)))); err != nil {
		t.Fatal(err)
	}
	_, err = e.store.WriteStatus(ctx, parseStatus(t, agentStatus(t, id, "cluster1", 1, makeSequenceID(statusBase.Add(time.Hour), 7, 0))))
	var invalid *InvalidStatusError
	if !errors.As(err, &invalid) || !errors.Is(err, ErrSequenceNodeMismatch) {
		t.Fatalf("sequence id from another node: got %v", err)
	}

	noSeq := agentStatus(t, id, "cluster1", 1, "")
	noSeq.SetExtension("sequenceid", nil)
	if _, err := e.store.WriteStatus(ctx, parseStatus(t, noSeq)); !errors.As(err, &invalid) {
		t.Fatalf("status without sequenceid: got %v", err)
	}
	if n := len(statusEventRows(t, e.pool)); n != 1 {
		t.Errorf("errors must not add status events: %d rows", n)
	}
}

func TestWriteStatusDeleted(t *testing.T) {
	e := newDBEnv(t)
	id := e.createResource(t, "cluster1")
	ctx := t.Context()
	if _, err := e.store.WriteStatus(ctx, parseStatus(t, agentStatus(t, id, "cluster1", 1, seqAt(time.Hour)))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.maestro.DeleteResource(ctx, id); err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Resource(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	notes := recordNotifications(t, e.db, "status_events")

	// No version or sequence checks: an older sequence id and another version still delete.
	outcome, err := e.store.WriteStatus(ctx, parseStatus(t, agentDeletedStatus(t, id, "cluster1", 7, seqAt(0))))
	if err != nil || outcome != StatusDeleted {
		t.Fatalf("got (%v, %v), want deleted", outcome, err)
	}
	if _, err := e.store.Resource(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the resource row must be hard-deleted, got %v", err)
	}
	rows := statusEventRows(t, e.pool)
	if len(rows) != 2 {
		t.Fatalf("want StatusUpdate + StatusDelete rows, got %d", len(rows))
	}
	del := rows[1]
	if del.Type != "StatusDelete" || del.ResourceID != id || del.ResourceSource != "mw-client-example" || del.ResourceType != "" {
		t.Errorf("StatusDelete row %+v", del)
	}
	if !jsonEqual(del.Payload, res.Payload) {
		t.Errorf("StatusDelete payload must be the spec payload:\n%s\nwant\n%s", del.Payload, res.Payload)
	}
	view := decodeAsMaestro(t, del.Status)
	if view.ObservedVersion != 7 || view.Metadata["name"] != "demo-work" {
		t.Errorf("StatusDelete status as Maestro reads it: version %d metadata %v", view.ObservedVersion, view.Metadata)
	}
	deleted := false
	for _, c := range view.Conditions {
		deleted = deleted || (c["type"] == "Deleted" && c["status"] == "True")
	}
	if !deleted {
		t.Errorf("StatusDelete status lacks Deleted=True: %v", view.Conditions)
	}
	if got := notes.next(t); got != del.ID {
		t.Errorf("NOTIFY payload %q, want %q", got, del.ID)
	}

	// The agent repeats its final status until it gets an OK: nothing more happens.
	outcome, err = e.store.WriteStatus(ctx, parseStatus(t, agentDeletedStatus(t, id, "cluster1", 7, seqAt(time.Second))))
	if err != nil || outcome != StatusMissing {
		t.Fatalf("repeated Deleted: (%v, %v)", outcome, err)
	}
	notes.expectNone(t, e.pool)
}

func TestWriteStatusAcceptsStringResourceVersion(t *testing.T) {
	e := newDBEnv(t)
	id := e.createResource(t, "cluster1")
	evt := agentStatus(t, id, "cluster1", 1, seqAt(0))
	evt.SetExtension("resourceversion", "1") // as carried by a header-based binding
	outcome, err := e.store.WriteStatus(t.Context(), parseStatus(t, evt))
	if err != nil || outcome != StatusAccepted {
		t.Fatalf("got (%v, %v)", outcome, err)
	}
	var version json.Number
	var raw []byte
	if err := e.pool.QueryRow(t.Context(), `SELECT status->'resourceversion' FROM resources WHERE id = $1`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &version); err != nil || version.String() != "1" {
		t.Errorf("resourceversion stored as %s, want the number 1", raw)
	}
}

func TestWriteStatusConcurrentWritersKeepNewest(t *testing.T) {
	e := newDBEnv(t)
	id := e.createResource(t, "cluster1")
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		st := parseStatus(t, agentStatus(t, id, "cluster1", 1, makeSequenceID(statusBase, 1, int64(i))))
		go func() {
			_, err := e.store.WriteStatus(t.Context(), st)
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := readStatusAsMaestro(t, e.pool, id).SequenceID; got != makeSequenceID(statusBase, 1, writers-1) {
		t.Errorf("stored sequence %s, want the newest", got)
	}
}
