package dbservice

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestProcessEventLockedElsewhere(t *testing.T) {
	e := newDBEnv(t)
	ctx := t.Context()
	e.createResource(t, "cluster1")
	ids, err := e.store.UnreconciledEventIDs(ctx)
	if err != nil || len(ids) != 1 {
		t.Fatalf("events %v %v", ids, err)
	}
	// Another replica holds the event's try-lock.
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	k1, k2 := LockKey(ids[0], LockTypeEvents)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`, k1, k2); err != nil {
		t.Fatal(err)
	}
	pushed := 0
	push := func(context.Context, *Resource, SpecEventType) error { pushed++; return nil }
	outcome, err := e.store.ProcessEvent(ctx, ids[0], push)
	if err != nil || outcome != SpecLockedElsewhere || pushed != 0 {
		t.Fatalf("while locked: (%v, %v), pushed %d", outcome, err, pushed)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// A failed push leaves the event pending.
	failing := func(context.Context, *Resource, SpecEventType) error { return errors.New("NATS down") }
	if _, err := e.store.ProcessEvent(ctx, ids[0], failing); err == nil {
		t.Fatal("a failed push must be an error")
	}
	if pending, _ := e.store.UnreconciledEventIDs(ctx); len(pending) != 1 {
		t.Fatalf("a failed push must leave the event unreconciled, pending %v", pending)
	}

	outcome, err = e.store.ProcessEvent(ctx, ids[0], push)
	if err != nil || outcome != SpecPushed || pushed != 1 {
		t.Fatalf("unlocked: (%v, %v), pushed %d", outcome, err, pushed)
	}
	outcome, err = e.store.ProcessEvent(ctx, ids[0], push)
	if err != nil || outcome != SpecAlreadyDone || pushed != 1 {
		t.Fatalf("again: (%v, %v), pushed %d", outcome, err, pushed)
	}
	if outcome, err = e.store.ProcessEvent(ctx, "no-such-event", push); err != nil || outcome != SpecEventGone {
		t.Fatalf("unknown event: (%v, %v)", outcome, err)
	}
}

func TestPurgeReconciledEvents(t *testing.T) {
	e := newDBEnv(t)
	ctx := t.Context()
	id := e.createResource(t, "cluster1")
	old, err := e.maestro.InsertEvent(ctx, id, "Update")
	if err != nil {
		t.Fatal(err)
	}
	recent, err := e.maestro.InsertEvent(ctx, id, "Update")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE events SET reconciled_date = now() - interval '2 hours' WHERE id = $1`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE events SET reconciled_date = now() WHERE id = $1`, recent); err != nil {
		t.Fatal(err)
	}
	n, err := e.store.PurgeReconciledEvents(ctx, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	rows, err := e.pool.Query(ctx, `SELECT id FROM events ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[1] != recent {
		t.Errorf("left %v: want the pending Create event and the recently reconciled one", left)
	}
}
