package maestrotest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudevents-conductor/conductor/pkg/dbservice/maestrotest"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// TestWritesLikeMaestro replays the recorded Maestro run of shared/reference/maestro-rows (consumer,
// create, update, delete of Maestro's example bundle) and compares every row with what the real
// Maestro server wrote, ids and timestamps aside, plus the NOTIFYs.
func TestWritesLikeMaestro(t *testing.T) {
	db := testenv.Postgres(t)
	pool := db.Pool(t)
	ctx := t.Context()
	m := maestrotest.New(pool)
	notes := listen(t, db, "events")

	if _, err := m.CreateConsumer(ctx, "cluster1"); err != nil {
		t.Fatal(err)
	}
	compareTable(t, pool, "consumers", "01-consumer-consumers.json")

	bundle := referenceBundle(t)
	id, createEvent, err := m.CreateResource(ctx, bundle)
	if err != nil {
		t.Fatal(err)
	}
	compareTable(t, pool, "resources", "02-create-resources.json")
	compareTable(t, pool, "events", "02-create-events.json")
	if got := notes.next(t); got != createEvent {
		t.Errorf("NOTIFY events %q, want %q", got, createEvent)
	}

	bundle.Manifests[0]["spec"].(map[string]any)["replicas"] = 2
	version, updateEvent, err := m.UpdateResource(ctx, bundle)
	if err != nil || version != 2 {
		t.Fatalf("update: %d %v", version, err)
	}
	compareTable(t, pool, "resources", "03-update-resources.json")
	compareTable(t, pool, "events", "03-update-events.json")
	if got := notes.next(t); got != updateEvent {
		t.Errorf("NOTIFY events %q, want %q", got, updateEvent)
	}
	updatedAt := column[time.Time](t, pool, `SELECT updated_at FROM resources WHERE id = $1`, id)

	deleteEvent, err := m.DeleteResource(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	compareTable(t, pool, "resources", "04-delete-resources.json")
	compareTable(t, pool, "events", "04-delete-events.json")
	if got := notes.next(t); got != deleteEvent {
		t.Errorf("NOTIFY events %q, want %q", got, deleteEvent)
	}
	if got := column[time.Time](t, pool, `SELECT updated_at FROM resources WHERE id = $1`, id); !got.Equal(updatedAt) {
		t.Errorf("a soft delete sets only deleted_at; updated_at changed from %v to %v", updatedAt, got)
	}
	if got := column[string](t, pool, `SELECT jsonb_typeof(status) FROM resources WHERE id = $1`, id); got != "null" {
		t.Errorf("status before any agent report must be JSON null, is %s", got)
	}

	// Maestro's idempotent cases: deleting again and updating a deleting resource.
	if again, err := m.DeleteResource(ctx, id); err != nil || again != "" {
		t.Errorf("second delete: event %q, %v", again, err)
	}
	if _, _, err := m.UpdateResource(ctx, bundle); err == nil {
		t.Error("updating a deleting resource must be a conflict")
	}
}

// referenceBundle is the bundle of Maestro's examples/cloudevents/cloudevent.json, read back from
// the recorded row.
func referenceBundle(t *testing.T) maestrotest.Bundle {
	t.Helper()
	var rows []struct {
		ID      string
		Payload struct {
			Source string
			Data   struct {
				Manifests       []map[string]any
				DeleteOption    map[string]any
				ManifestConfigs []map[string]any
			}
			ResourceVersion int64
		}
	}
	readJSON(t, "02-create-resources.json", &rows)
	p := rows[0].Payload
	return maestrotest.Bundle{
		ID: rows[0].ID, Source: p.Source, Consumer: "cluster1", Manifests: p.Data.Manifests,
		DeleteOption: p.Data.DeleteOption, ManifestConfigs: p.Data.ManifestConfigs, ResourceVersion: p.ResourceVersion,
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// compareTable dumps a table as the reference was dumped (row_to_json by created_at) and compares
// it with the recorded rows after masking generated ids and timestamps.
func compareTable(t *testing.T, pool *pgxpool.Pool, table, reference string) {
	t.Helper()
	var got []map[string]any
	raw := column[[]byte](t, pool, `SELECT json_agg(row_to_json(t)) FROM (SELECT * FROM `+
		pgx.Identifier{table}.Sanitize()+` ORDER BY created_at) t`)
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	readJSON(t, reference, &want)
	mask(got)
	mask(want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s differs from what Maestro wrote (%s):\ngot  %s\nwant %s", table, reference, g, w)
	}
}

// mask replaces values that differ from run to run: generated ids and timestamps. Whether a
// timestamp is set (non-null) is kept.
func mask(rows []map[string]any) {
	for _, row := range rows {
		for _, key := range []string{"created_at", "updated_at", "deleted_at", "reconciled_date"} {
			if row[key] != nil {
				row[key] = "<time>"
			}
		}
		if _, isResource := row["payload"]; !isResource {
			row["id"] = "<generated>" // consumer and event ids are UUIDv4; resource ids come from the source
		}
		if payload, ok := row["payload"].(map[string]any); ok {
			payload["id"] = "<event id>"
		}
	}
}

func column[T any](t *testing.T, pool *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

type notifications chan string

func listen(t *testing.T, db *testenv.PostgresDB, channel string) notifications {
	t.Helper()
	conn := db.Connect(t)
	if _, err := conn.Exec(t.Context(), "LISTEN "+channel); err != nil {
		t.Fatal(err)
	}
	ch := make(notifications, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			ch <- n.Payload
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

func (n notifications) next(t *testing.T) string {
	t.Helper()
	select {
	case p := <-n:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no NOTIFY")
		return ""
	}
}
