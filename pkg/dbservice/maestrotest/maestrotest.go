package maestrotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ManifestBundleDataType is the CloudEvents data type of resource bundles.
const ManifestBundleDataType = "io.open-cluster-management.works.v1alpha1.manifestbundles"

// ErrConflict is returned for an update Maestro would refuse with 409: version mismatch or a
// resource under deletion.
var ErrConflict = errors.New("conflict")

// ErrNotFound is returned for an update of a resource that does not exist.
var ErrNotFound = errors.New("not found")

// Maestro writes to one Maestro database as a Maestro server would.
type Maestro struct {
	Pool *pgxpool.Pool
}

// New returns a writer on pool.
func New(pool *pgxpool.Pool) *Maestro { return &Maestro{Pool: pool} }

// CreateConsumer inserts a consumer the way POST /consumers does (uuid id, labels NULL) and
// returns its id.
func (m *Maestro) CreateConsumer(ctx context.Context, name string) (string, error) {
	id := uuid.NewString()
	_, err := m.Pool.Exec(ctx, `INSERT INTO consumers (id, created_at, updated_at, deleted_at, name, labels)
		VALUES ($1, now(), now(), NULL, $2, NULL)`, id, name)
	if err != nil {
		return "", fmt.Errorf("creating consumer %s: %w", name, err)
	}
	return id, nil
}

// Bundle describes a resource bundle a source creates or updates.
type Bundle struct {
	// ID is the resource id (the source's resourceid); empty makes a UUIDv4 as Maestro does.
	ID string
	// Source is the creator's source id, e.g. "mw-client-example".
	Source string
	// Consumer is the consumer (cluster) name.
	Consumer string
	// Manifests are the Kubernetes objects of the bundle.
	Manifests []map[string]any
	// Metadata is the ManifestWork ObjectMeta an sdk-go source client sends; nil omits it.
	Metadata map[string]any
	// DeleteOption defaults to {"propagationPolicy":"Foreground"}.
	DeleteOption map[string]any
	// ManifestConfigs is optional.
	ManifestConfigs []map[string]any
	// ResourceVersion is the resourceversion the source put in its event (often 0).
	ResourceVersion int64
}

// Payload renders the bundle as Maestro stores it in resources.payload: the source's CloudEvent in
// structured JSON with extensions flattened and metadata as an object.
func (b Bundle) Payload(action string) map[string]any {
	deleteOption := b.DeleteOption
	if deleteOption == nil {
		deleteOption = map[string]any{"propagationPolicy": "Foreground"}
	}
	data := map[string]any{"manifests": b.Manifests, "deleteOption": deleteOption}
	if b.ManifestConfigs != nil {
		data["manifestConfigs"] = b.ManifestConfigs
	}
	payload := map[string]any{
		"id":              uuid.NewString(),
		"specversion":     "1.0",
		"source":          b.Source,
		"type":            ManifestBundleDataType + ".spec." + action,
		"datacontenttype": "application/json",
		"resourceid":      b.ID,
		"clustername":     b.Consumer,
		"resourceversion": b.ResourceVersion,
		"data":            data,
	}
	if b.Metadata != nil {
		payload["metadata"] = b.Metadata
	}
	return payload
}

// CreateResource does what Maestro does for a source create_request: INSERT the resource
// (version 1, status JSON null, type ”), INSERT a Create event, NOTIFY events, each statement
// committed on its own. It returns the resource id and the event id.
func (m *Maestro) CreateResource(ctx context.Context, b Bundle) (resourceID, eventID string, err error) {
	if b.ID == "" {
		b.ID = uuid.NewString()
	}
	payload, err := json.Marshal(b.Payload("create_request"))
	if err != nil {
		return "", "", err
	}
	_, err = m.Pool.Exec(ctx, `INSERT INTO resources (name, id, created_at, updated_at, deleted_at, source,
		consumer_name, version, type, payload, status) VALUES ($1, $1, now(), now(), NULL, $2, $3, 1, '', $4, 'null')`,
		b.ID, b.Source, b.Consumer, payload)
	if err != nil {
		return "", "", fmt.Errorf("creating resource %s: %w", b.ID, err)
	}
	eventID, err = m.AddEvent(ctx, b.ID, "Create")
	return b.ID, eventID, err
}

// UpdateResource does what Maestro does for a source update_request: under the advisory lock
// (id, resources) it refuses a missing or deleting resource and a non-zero resourceversion other
// than the current version, ignores a deep-equal payload, else writes version+1 and the new
// payload, then an Update event and NOTIFY. It returns the new version and the event id ("" when
// nothing changed).
func (m *Maestro) UpdateResource(ctx context.Context, b Bundle) (version int64, eventID string, err error) {
	err = m.withLock(ctx, b.ID, "resources", func() error {
		var current int64
		var deleting bool
		var stored []byte
		err := m.Pool.QueryRow(ctx, `SELECT version, deleted_at IS NOT NULL, payload FROM resources WHERE id = $1`, b.ID).
			Scan(&current, &deleting, &stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("resource %s: %w", b.ID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if deleting {
			return fmt.Errorf("the resource is under deletion: %w", ErrConflict)
		}
		if b.ResourceVersion != 0 && b.ResourceVersion != current {
			return fmt.Errorf("the resource version is not the latest, the latest version: %d: %w", current, ErrConflict)
		}
		version = current
		next := b.Payload("update_request")
		if sameBundle(stored, next) {
			return nil
		}
		payload, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if err := m.Pool.QueryRow(ctx, `UPDATE resources SET version = version + 1, payload = $2, updated_at = now()
			WHERE id = $1 RETURNING version`, b.ID, payload).Scan(&version); err != nil {
			return err
		}
		eventID, err = m.AddEvent(ctx, b.ID, "Update")
		return err
	})
	return version, eventID, err
}

// DeleteResource does what Maestro does for a delete_request or REST DELETE: under the lock
// (id, resources) a missing or already deleting resource is a no-op; otherwise only deleted_at is
// set, then a Delete event and NOTIFY. It returns the event id ("" for a no-op).
func (m *Maestro) DeleteResource(ctx context.Context, id string) (eventID string, err error) {
	err = m.withLock(ctx, id, "resources", func() error {
		tag, err := m.Pool.Exec(ctx, `UPDATE resources SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		eventID, err = m.AddEvent(ctx, id, "Delete")
		return err
	})
	return eventID, err
}

// AddEvent inserts an events row for the resource and then NOTIFYs events with its id, as two
// statements (Maestro's EventDao.Create).
func (m *Maestro) AddEvent(ctx context.Context, resourceID, eventType string) (string, error) {
	id, err := m.InsertEvent(ctx, resourceID, eventType)
	if err != nil {
		return "", err
	}
	if _, err := m.Pool.Exec(ctx, `SELECT pg_notify('events', $1)`, id); err != nil {
		return "", fmt.Errorf("notifying event %s: %w", id, err)
	}
	return id, nil
}

// InsertEvent inserts an events row without the NOTIFY, as when Maestro crashes between the two
// statements (or the listener is away): only a scan of unreconciled events finds it.
func (m *Maestro) InsertEvent(ctx context.Context, resourceID, eventType string) (string, error) {
	id := uuid.NewString()
	_, err := m.Pool.Exec(ctx, `INSERT INTO events (id, created_at, updated_at, deleted_at, source, source_id,
		event_type, reconciled_date) VALUES ($1, now(), now(), NULL, 'Resources', $2, $3, NULL)`, id, resourceID, eventType)
	if err != nil {
		return "", fmt.Errorf("inserting %s event for %s: %w", eventType, resourceID, err)
	}
	return id, nil
}

// withLock holds Maestro's blocking advisory lock in a transaction of its own (on its own
// connection) while fn runs its statements outside it, as Maestro's lock factory does.
func (m *Maestro) withLock(ctx context.Context, id, lockType string, fn func() error) error {
	tx, err := m.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Maestro's key: (int32(FNV-1a-32(id)), int32(FNV-1a-32(lock type))). Kept here rather than
	// imported so that this package stays a model of Maestro, independent of the code under test.
	k1, k2 := fnv32a(id), fnv32a(lockType)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`, k1, k2); err != nil {
		return fmt.Errorf("advisory lock (%s, %s): %w", id, lockType, err)
	}
	if err := fn(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// sameBundle reports whether the stored payload already has the same bundle content, which makes
// an update a no-op (Maestro compares the manifests, not the event envelope).
func sameBundle(stored []byte, next map[string]any) bool {
	var old map[string]any
	if json.Unmarshal(stored, &old) != nil {
		return false
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return false
	}
	var cur map[string]any
	if json.Unmarshal(raw, &cur) != nil {
		return false
	}
	return reflect.DeepEqual(old["data"], cur["data"]) && reflect.DeepEqual(old["metadata"], cur["metadata"])
}

func fnv32a(s string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int32(h.Sum32())
}
