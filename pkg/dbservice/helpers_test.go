package dbservice

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cetypes "github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudevents-conductor/conductor/pkg/dbservice/maestrotest"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

var sharedPG testenv.SharedPostgres

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &sharedPG)) }

// dbEnv is a fresh Maestro database with a Store and a Maestro-like writer on it.
type dbEnv struct {
	db      *testenv.PostgresDB
	pool    *pgxpool.Pool
	store   *Store
	maestro *maestrotest.Maestro
}

func newDBEnv(t *testing.T) *dbEnv {
	t.Helper()
	return newDBEnvOn(t, sharedPG.NewDatabase(t))
}

func newDBEnvOn(t *testing.T, db *testenv.PostgresDB) *dbEnv {
	t.Helper()
	pool := db.Pool(t)
	return &dbEnv{db: db, pool: pool, store: NewStore(pool), maestro: maestrotest.New(pool)}
}

// specMetadata is the ManifestWork ObjectMeta an sdk-go source client puts in its events.
var specMetadata = map[string]any{
	"name":      "demo-work",
	"namespace": "cluster1",
	"labels":    map[string]any{"app": "demo"},
}

func testBundle(id, consumer string) maestrotest.Bundle {
	return maestrotest.Bundle{
		ID:       id,
		Source:   "mw-client-example",
		Consumer: consumer,
		Metadata: specMetadata,
		Manifests: []map[string]any{{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "demo-config", "namespace": "default"},
			"data":     map[string]any{"key": "value"},
		}},
	}
}

// createResource creates a consumer (once per name) and a resource the way Maestro does, and
// returns the resource id.
func (e *dbEnv) createResource(t *testing.T, consumer string) string {
	t.Helper()
	ctx := t.Context()
	var exists bool
	if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM consumers WHERE name = $1)`, consumer).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		if _, err := e.maestro.CreateConsumer(ctx, consumer); err != nil {
			t.Fatal(err)
		}
	}
	id, _, err := e.maestro.CreateResource(ctx, testBundle(uuid.NewString(), consumer))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// wireEvent builds an sdk-go event from a recorded protojson PublishRequest in testdata.
func wireEvent(t testing.TB, name string) cloudevents.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Event struct {
			ID, Source, SpecVersion, Type string
			Attributes                    map[string]struct {
				CeString    *string
				CeInteger   *int32
				CeTimestamp *time.Time
			}
			BinaryData string
		}
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	evt := cloudevents.NewEvent()
	evt.SetID(req.Event.ID)
	evt.SetSource(req.Event.Source)
	evt.SetType(req.Event.Type)
	for key, v := range req.Event.Attributes {
		switch {
		case key == "contenttype":
			evt.SetDataContentType(*v.CeString)
		case key == "ce-time":
			evt.SetTime(*v.CeTimestamp)
		case v.CeString != nil:
			evt.SetExtension(key[len("ce-"):], *v.CeString)
		case v.CeInteger != nil:
			evt.SetExtension(key[len("ce-"):], *v.CeInteger)
		case v.CeTimestamp != nil:
			evt.SetExtension(key[len("ce-"):], *v.CeTimestamp)
		}
	}
	data, err := base64.StdEncoding.DecodeString(req.Event.BinaryData)
	if err != nil {
		t.Fatal(err)
	}
	evt.DataEncoded = data
	return evt
}

// agentStatus is the recorded work agent status for a maestro work, re-targeted at a resource.
func agentStatus(t testing.TB, resourceID, cluster string, version int32, sequenceID string) cloudevents.Event {
	t.Helper()
	evt := wireEvent(t, "agent-work-status-update-maestro.json")
	retarget(&evt, resourceID, cluster, version, sequenceID)
	return evt
}

// agentDeletedStatus is the recorded final status (condition Deleted=True), re-targeted.
func agentDeletedStatus(t testing.TB, resourceID, cluster string, version int32, sequenceID string) cloudevents.Event {
	t.Helper()
	evt := wireEvent(t, "agent-work-status-update-deleted.json")
	retarget(&evt, resourceID, cluster, version, sequenceID)
	evt.SetExtension("originalsource", "maestro")
	return evt
}

func retarget(evt *cloudevents.Event, resourceID, cluster string, version int32, sequenceID string) {
	evt.SetID(uuid.NewString())
	evt.SetExtension("resourceid", resourceID)
	evt.SetExtension("clustername", cluster)
	evt.SetExtension("resourceversion", version)
	evt.SetExtension("sequenceid", sequenceID)
}

func parseStatus(t testing.TB, evt cloudevents.Event) *AgentStatus {
	t.Helper()
	st, err := ParseAgentStatus(evt)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// maestroStatusView decodes resources.status exactly as Maestro's REST and broadcast code does
// (JSONMAPToCloudEvent, then DecodeBundleStatus): metadata object back to a string, the JSON
// parsed as a CloudEvent, resourceversion read with ToInteger and sequenceid with ToString.
type maestroStatusView struct {
	Event           cloudevents.Event
	ObservedVersion int32
	SequenceID      string
	Metadata        map[string]any
	Conditions      []map[string]any
}

func readStatusAsMaestro(t *testing.T, pool *pgxpool.Pool, resourceID string) *maestroStatusView {
	t.Helper()
	var raw []byte
	if err := pool.QueryRow(t.Context(), `SELECT status FROM resources WHERE id = $1`, resourceID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return decodeAsMaestro(t, raw)
}

func decodeAsMaestro(t *testing.T, raw []byte) *maestroStatusView {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("status %s: %v", raw, err)
	}
	view := &maestroStatusView{}
	if meta, ok := fields["metadata"].(map[string]any); ok {
		view.Metadata = meta
		str, _ := json.Marshal(meta)
		fields["metadata"] = string(str)
	} else {
		t.Fatalf("stored metadata must be a JSON object, got %T", fields["metadata"])
	}
	asEvent, _ := json.Marshal(fields)
	if err := json.Unmarshal(asEvent, &view.Event); err != nil {
		t.Fatalf("Maestro could not parse the stored status as a CloudEvent: %v", err)
	}
	exts := view.Event.Extensions()
	var err error
	if view.ObservedVersion, err = cetypes.ToInteger(exts["resourceversion"]); err != nil {
		t.Fatalf("resourceversion: %v", err)
	}
	if view.SequenceID, err = cetypes.ToString(exts["sequenceid"]); err != nil {
		t.Fatalf("sequenceid: %v", err)
	}
	var data struct{ Conditions []map[string]any }
	if err := view.Event.DataAs(&data); err != nil {
		t.Fatalf("status data: %v", err)
	}
	view.Conditions = data.Conditions
	return view
}

// statusEventRow is one status_events row.
type statusEventRow struct {
	ID, ResourceID, ResourceSource, ResourceType, Type string
	PayloadType, StatusType                            string // jsonb_typeof of payload and status
	Payload, Status                                    []byte
}

func statusEventRows(t *testing.T, pool *pgxpool.Pool) []statusEventRow {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT id, resource_id, resource_source, resource_type, status_event_type,
		jsonb_typeof(payload), jsonb_typeof(status), payload, status FROM status_events ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (statusEventRow, error) {
		var r statusEventRow
		err := row.Scan(&r.ID, &r.ResourceID, &r.ResourceSource, &r.ResourceType, &r.Type, &r.PayloadType, &r.StatusType,
			&r.Payload, &r.Status)
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// notifyRecorder collects NOTIFY payloads of one channel on a connection of its own.
type notifyRecorder struct {
	channel string
	got     chan string
}

func recordNotifications(t *testing.T, db *testenv.PostgresDB, channel string) *notifyRecorder {
	t.Helper()
	conn := db.Connect(t)
	if _, err := conn.Exec(t.Context(), "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	r := &notifyRecorder{channel: channel, got: make(chan string, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			r.got <- n.Payload
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// next returns the next payload, failing the test if none arrives in time.
func (r *notifyRecorder) next(t *testing.T) string {
	t.Helper()
	select {
	case p := <-r.got:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("no NOTIFY on %s", r.channel)
		return ""
	}
}

// expectNone proves nothing was notified so far: NOTIFYs arrive in commit order, so if a marker
// sent now is the next payload, nothing committed earlier was notified.
func (r *notifyRecorder) expectNone(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	marker := "marker-" + uuid.NewString()
	if _, err := pool.Exec(t.Context(), `SELECT pg_notify($1, $2)`, r.channel, marker); err != nil {
		t.Fatal(err)
	}
	if got := r.next(t); got != marker {
		t.Fatalf("unexpected NOTIFY on %s: %q", r.channel, got)
	}
}
