package dbservice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// Store holds every statement the db-service runs against Maestro's database. Statements go
// through pgx's per-connection statement cache, so each is prepared once per connection.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

const resourceColumns = `id, COALESCE(name, ''), COALESCE(source, ''), COALESCE(consumer_name, ''),
	COALESCE(type, ''), version, COALESCE(created_at, 'epoch'), COALESCE(updated_at, 'epoch'),
	deleted_at, payload, status`

func scanResource(row pgx.Row) (*Resource, error) {
	r := &Resource{}
	err := row.Scan(&r.ID, &r.Name, &r.Source, &r.ConsumerName, &r.Type, &r.Version,
		&r.CreatedAt, &r.UpdatedAt, &r.DeletedAt, &r.Payload, &r.Status)
	if err != nil {
		return nil, err
	}
	if isJSONNull(r.Status) {
		r.Status = nil // Maestro writes JSON null before the first status; both mean "none"
	}
	return r, nil
}

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Resource loads one resource, unscoped (soft-deleted rows are returned too).
func (s *Store) Resource(ctx context.Context, id string) (*Resource, error) {
	r, err := scanResource(s.pool.QueryRow(ctx, `SELECT `+resourceColumns+` FROM resources WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("loading resource %s: %w", id, err)
	}
	return r, nil
}

// ConsumerResources lists every resource of a consumer, unscoped, as Maestro's resync does.
func (s *Store) ConsumerResources(ctx context.Context, consumer string) ([]*Resource, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+resourceColumns+` FROM resources WHERE consumer_name = $1 ORDER BY id`, consumer)
	if err != nil {
		return nil, fmt.Errorf("listing resources of consumer %s: %w", consumer, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Resource, error) { return scanResource(row) })
	if err != nil {
		return nil, fmt.Errorf("listing resources of consumer %s: %w", consumer, err)
	}
	return list, nil
}

// StatusOutcome says what the status writer did with an agent status.
type StatusOutcome int

// Status writer outcomes. Every one of them is a success for the agent.
const (
	StatusAccepted      StatusOutcome = iota // stored, StatusUpdate event recorded and notified
	StatusStaleVersion                       // resourceversion is not the current spec version: dropped
	StatusStaleSequence                      // sequenceid not newer than the stored one: dropped
	StatusDuplicate                          // deep-equal to the stored status: nothing to do
	StatusDeleted                            // Deleted=True: StatusDelete event recorded, row hard-deleted
	StatusMissing                            // no such resource (already deleted): dropped
)

// String is the metric label of the outcome.
func (o StatusOutcome) String() string {
	switch o {
	case StatusAccepted:
		return "accepted"
	case StatusStaleVersion, StatusStaleSequence:
		return "stale"
	case StatusDuplicate:
		return "duplicate"
	case StatusDeleted:
		return "deleted"
	case StatusMissing:
		return "missing"
	}
	return "unknown"
}

// ConsumerMismatchError is returned when an agent reports status for another consumer's resource.
type ConsumerMismatchError struct {
	ResourceID, Consumer, ClusterName string
}

func (e *ConsumerMismatchError) Error() string {
	return fmt.Sprintf("unmatched consumer name %s for resource %s", e.ClusterName, e.ResourceID)
}

// InvalidStatusError is returned for a status that cannot be ordered or stored.
type InvalidStatusError struct{ Err error }

func (e *InvalidStatusError) Error() string { return "invalid status: " + e.Err.Error() }
func (e *InvalidStatusError) Unwrap() error { return e.Err }

// WriteStatus runs Maestro's status writer algorithm (maestro.md §2.4 step 2). It returns only
// after the transaction committed, so an OK reply to the agent is never lost.
func (s *Store) WriteStatus(ctx context.Context, st *AgentStatus) (StatusOutcome, error) {
	found, err := s.Resource(ctx, st.ResourceID)
	if errors.Is(err, ErrNotFound) {
		return StatusMissing, nil
	}
	if err != nil {
		return 0, err
	}
	if found.ConsumerName != st.ClusterName {
		return 0, &ConsumerMismatchError{ResourceID: st.ResourceID, Consumer: found.ConsumerName, ClusterName: st.ClusterName}
	}
	status, err := st.storedJSON(found)
	if err != nil {
		return 0, &InvalidStatusError{Err: err}
	}
	if st.Deleted {
		return s.recordDeletion(ctx, st.ResourceID, status)
	}
	return s.updateStatus(ctx, st, status)
}

// recordDeletion inserts the StatusDelete event (carrying the spec payload, because Maestro's
// broadcaster reads it after the row is gone), notifies, and hard-deletes the resource, in one
// transaction. The row lock makes a repeated Deleted status find nothing instead of recording a
// second StatusDelete.
func (s *Store) recordDeletion(ctx context.Context, resourceID string, status []byte) (StatusOutcome, error) {
	outcome := StatusDeleted
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var source, resourceType string
		var payload []byte
		err := tx.QueryRow(ctx, `SELECT COALESCE(source, ''), COALESCE(type, ''), payload FROM resources WHERE id = $1 FOR UPDATE`,
			resourceID).Scan(&source, &resourceType, &payload)
		if errors.Is(err, pgx.ErrNoRows) {
			outcome = StatusMissing
			return nil
		}
		if err != nil {
			return err
		}
		eventID := uuid.NewString()
		batch := &pgx.Batch{}
		batch.Queue(`INSERT INTO status_events (id, created_at, updated_at, resource_id, resource_source, resource_type,
			payload, status, status_event_type) VALUES ($1, now(), now(), $2, $3, $4, $5, $6, 'StatusDelete')`,
			eventID, resourceID, source, resourceType, jsonOrNull(payload), status)
		batch.Queue(`SELECT pg_notify('status_events', $1)`, eventID)
		batch.Queue(`DELETE FROM resources WHERE id = $1`, resourceID)
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("recording deletion of resource %s: %w", resourceID, err)
	}
	return outcome, nil
}

// updateStatus is the locked half of the writer: under (id, resource_status) it re-reads the row
// and applies the version, deep-equal and sequence checks before storing the status.
func (s *Store) updateStatus(ctx context.Context, st *AgentStatus, status []byte) (StatusOutcome, error) {
	var outcome StatusOutcome
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		version, stored, found, err := lockStatus(ctx, tx, st.ResourceID)
		if err != nil {
			return err
		}
		if !found {
			outcome = StatusMissing
			return nil
		}
		outcome, err = statusDecision(st, status, version, stored)
		if err != nil || outcome != StatusAccepted {
			return err
		}
		return storeStatus(ctx, tx, st.ResourceID, status)
	})
	if err != nil {
		return 0, fmt.Errorf("updating status of resource %s: %w", st.ResourceID, err)
	}
	return outcome, nil
}

// lockStatus takes the (id, resource_status) lock and reads the version and stored status in one
// round trip.
func lockStatus(ctx context.Context, tx pgx.Tx, resourceID string) (version int64, stored []byte, found bool, err error) {
	k1, k2 := LockKey(resourceID, LockTypeResourceStatus)
	found = true
	batch := &pgx.Batch{}
	batch.Queue(`SELECT pg_advisory_xact_lock($1::int4, $2::int4)`, k1, k2)
	batch.Queue(`SELECT version, status FROM resources WHERE id = $1`, resourceID).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&version, &stored)
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		return err
	})
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return 0, nil, false, err
	}
	if isJSONNull(stored) {
		stored = nil
	}
	return version, stored, found, nil
}

// storeStatus writes the status, records the StatusUpdate event and notifies, as Maestro's
// status writer does (the event carries no payload or status: broadcasters read the resource).
func storeStatus(ctx context.Context, tx pgx.Tx, resourceID string, status []byte) error {
	eventID := uuid.NewString()
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE resources SET status = $2, updated_at = now() WHERE id = $1`, resourceID, status)
	batch.Queue(`INSERT INTO status_events (id, created_at, updated_at, resource_id, resource_source, resource_type,
		payload, status, status_event_type) VALUES ($1, now(), now(), $2, '', '', 'null', 'null', 'StatusUpdate')`,
		eventID, resourceID)
	batch.Queue(`SELECT pg_notify('status_events', $1)`, eventID)
	return tx.SendBatch(ctx, batch).Close()
}

// statusDecision applies Maestro's UpdateStatus checks in Maestro's order.
func statusDecision(st *AgentStatus, status []byte, version int64, stored []byte) (StatusOutcome, error) {
	if st.ResourceVersion != version {
		return StatusStaleVersion, nil
	}
	if jsonEqual(status, stored) {
		return StatusDuplicate, nil
	}
	if st.SequenceID == "" {
		return 0, &InvalidStatusError{Err: errors.New("status event has no sequenceid")}
	}
	storedSeq, err := storedSequenceID(stored)
	if err != nil {
		return 0, &InvalidStatusError{Err: err}
	}
	newer, err := SequenceNewer(st.SequenceID, storedSeq)
	if err != nil {
		return 0, &InvalidStatusError{Err: err}
	}
	if !newer {
		return StatusStaleSequence, nil
	}
	return StatusAccepted, nil
}

func jsonOrNull(raw []byte) []byte {
	if len(raw) == 0 {
		return []byte("null")
	}
	return raw
}

// SpecEventOutcome says what ProcessEvent did with an events row.
type SpecEventOutcome int

// Spec event outcomes.
const (
	SpecPushed          SpecEventOutcome = iota // pushed and marked reconciled
	SpecLockedElsewhere                         // another replica (or Maestro) holds the try-lock
	SpecEventGone                               // no such events row
	SpecAlreadyDone                             // already reconciled
	SpecResourceGone                            // resource hard-deleted: marked reconciled, nothing pushed
	SpecSkipped                                 // create/update of a deleting resource, or a foreign event: marked reconciled
)

// String names the outcome for logs.
func (o SpecEventOutcome) String() string {
	return [...]string{"pushed", "locked-elsewhere", "event-gone", "already-reconciled", "resource-gone", "skipped"}[o]
}

// SpecEventType is events.event_type.
type SpecEventType string

// events.event_type values written by Maestro.
const (
	EventCreate SpecEventType = "Create"
	EventUpdate SpecEventType = "Update"
	EventDelete SpecEventType = "Delete"
)

// Action is the spec action Maestro sends for the event type.
func (t SpecEventType) Action() (ce.Action, bool) {
	switch t {
	case EventCreate:
		return ce.ActionCreateRequest, true
	case EventUpdate:
		return ce.ActionUpdateRequest, true
	case EventDelete:
		return ce.ActionDeleteRequest, true
	}
	return "", false
}

// PushFunc delivers the spec of a resource to its agent.
type PushFunc func(ctx context.Context, r *Resource, eventType SpecEventType) error

// ProcessEvent handles one events row: in its own transaction it takes the try-lock
// (event id, events), skips rows that are gone or reconciled, loads the resource unscoped, calls
// push, and sets reconciled_date. When push fails nothing is marked and the error is returned, so
// the event is retried.
func (s *Store) ProcessEvent(ctx context.Context, eventID string, push PushFunc) (SpecEventOutcome, error) {
	var outcome SpecEventOutcome
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		outcome, err = s.processEventLocked(ctx, tx, eventID, push)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("processing event %s: %w", eventID, err)
	}
	return outcome, nil
}

func (s *Store) processEventLocked(ctx context.Context, tx pgx.Tx, eventID string, push PushFunc) (SpecEventOutcome, error) {
	k1, k2 := LockKey(eventID, LockTypeEvents)
	var acquired bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1::int4, $2::int4)`, k1, k2).Scan(&acquired); err != nil {
		return 0, err
	}
	if !acquired {
		return SpecLockedElsewhere, nil
	}
	var source, resourceID, eventType string
	var reconciled bool
	err := tx.QueryRow(ctx, `SELECT COALESCE(source, ''), COALESCE(source_id, ''), COALESCE(event_type, ''),
		reconciled_date IS NOT NULL FROM events WHERE id = $1`, eventID).Scan(&source, &resourceID, &eventType, &reconciled)
	if errors.Is(err, pgx.ErrNoRows) {
		return SpecEventGone, nil
	}
	if err != nil {
		return 0, err
	}
	if reconciled {
		return SpecAlreadyDone, nil
	}
	outcome, err := s.pushEvent(ctx, tx, source, resourceID, SpecEventType(eventType), push)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE events SET reconciled_date = now(), updated_at = now() WHERE id = $1`, eventID); err != nil {
		return 0, err
	}
	return outcome, nil
}

func (s *Store) pushEvent(ctx context.Context, tx pgx.Tx, source, resourceID string, eventType SpecEventType, push PushFunc) (SpecEventOutcome, error) {
	if _, known := eventType.Action(); source != "Resources" || !known {
		return SpecSkipped, nil
	}
	r, err := scanResource(tx.QueryRow(ctx, `SELECT `+resourceColumns+` FROM resources WHERE id = $1`, resourceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return SpecResourceGone, nil
	}
	if err != nil {
		return 0, err
	}
	// The Delete event carries a deleting resource; an earlier Create/Update must not resurrect it.
	if r.Deleting() && eventType != EventDelete {
		return SpecSkipped, nil
	}
	if err := push(ctx, r, eventType); err != nil {
		return 0, err
	}
	return SpecPushed, nil
}

// UnreconciledEventIDs lists the events nobody has handled yet, oldest first.
func (s *Store) UnreconciledEventIDs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM events WHERE reconciled_date IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing unreconciled events: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing unreconciled events: %w", err)
	}
	return ids, nil
}

// PurgeReconciledEvents deletes events reconciled more than olderThan ago, as Maestro's and the
// reference conductor's periodic spec sync do, so the outbox does not grow for ever.
func (s *Store) PurgeReconciledEvents(ctx context.Context, olderThan time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM events WHERE reconciled_date < now() - make_interval(secs => $1)`,
		olderThan.Seconds())
	if err != nil {
		return 0, fmt.Errorf("purging reconciled events: %w", err)
	}
	return tag.RowsAffected(), nil
}
