package devserver_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudevents-conductor/conductor/pkg/maestro/devserver"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

var pg testenv.SharedPostgres

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &pg)) }

// consumerKeys are the keys of a Consumer with labels (maestro.md §3.1).
var consumerKeys = []string{"created_at", "href", "id", "kind", "labels", "name", "updated_at"}

var errorKeys = []string{"code", "href", "id", "kind", "operation_id", "reason"}

// rfc3339 is how Maestro writes times: UTC with up to nanoseconds.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$`)

type fixture struct {
	t    *testing.T
	url  string
	pool *pgxpool.Pool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := pg.NewDatabase(t).Pool(t)
	srv, err := devserver.New(devserver.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fixture{t: t, url: hs.URL, pool: pool}
}

type response struct {
	status int
	header http.Header
	raw    []byte
	doc    map[string]any
}

// call sends body (empty for none) with the operation id opID (none when empty).
func (f *fixture) call(method, path, body, opID string) response {
	f.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.url+path, reader)
	if err != nil {
		f.t.Fatal(err)
	}
	if opID != "" {
		req.Header.Set("X-Operation-ID", opID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.doc); err != nil {
			f.t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return r
}

func (f *fixture) create(name string, labels map[string]string) map[string]any {
	f.t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "labels": labels})
	r := f.call(http.MethodPost, "/api/maestro/v1/consumers", string(body), "")
	if r.status != http.StatusCreated {
		f.t.Fatalf("creating %s: %d %s", name, r.status, r.raw)
	}
	return r.doc
}

// insertResource adds a resources row for consumer, as Maestro's gRPC create does.
func (f *fixture) insertResource(consumer string, deleted bool) string {
	f.t.Helper()
	id := uuid.NewString()
	_, err := f.pool.Exec(context.Background(), `INSERT INTO resources
		(id, name, created_at, updated_at, deleted_at, source, consumer_name, version, type, payload, status)
		VALUES ($1, $1, now(), now(), CASE WHEN $2 THEN now() END, 'grpc', $3, 1, '', '{}', 'null')`,
		id, deleted, consumer)
	if err != nil {
		f.t.Fatalf("inserting a resource for %s: %v", consumer, err)
	}
	return id
}

func keysOf(doc map[string]any) []string {
	return slices.Sorted(maps.Keys(doc))
}

func assertKeys(t *testing.T, doc map[string]any, want []string) {
	t.Helper()
	if got := keysOf(doc); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
}

// assertError checks a Maestro error document: status, code, every key, and the reason's start.
func assertError(t *testing.T, r response, status int, n, reasonPrefix, opID string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	assertKeys(t, r.doc, errorKeys)
	want := map[string]any{
		"id": n, "kind": "Error", "code": "maestro-" + n, "href": "/api/maestro/v1/errors/" + n,
	}
	for k, v := range want {
		if r.doc[k] != v {
			t.Errorf("%s = %v, want %v", k, r.doc[k], v)
		}
	}
	if reason, _ := r.doc["reason"].(string); !strings.HasPrefix(reason, reasonPrefix) {
		t.Errorf("reason = %q, want prefix %q", reason, reasonPrefix)
	}
	if opID != "" && r.doc["operation_id"] != opID {
		t.Errorf("operation_id = %v, want %s", r.doc["operation_id"], opID)
	}
}

func assertConsumer(t *testing.T, doc map[string]any, name string, labels map[string]any) {
	t.Helper()
	keys := consumerKeys
	if labels == nil {
		keys = slices.DeleteFunc(slices.Clone(consumerKeys), func(k string) bool { return k == "labels" })
	}
	assertKeys(t, doc, keys)
	id, _ := doc["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		t.Errorf("id %q is not a UUID", id)
	}
	if doc["kind"] != "Consumer" || doc["href"] != "/api/maestro/v1/consumers/"+id || doc["name"] != name {
		t.Errorf("kind/href/name = %v %v %v", doc["kind"], doc["href"], doc["name"])
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if s, _ := doc[k].(string); !rfc3339.MatchString(s) {
			t.Errorf("%s = %q, not RFC 3339 UTC", k, s)
		}
	}
	if labels != nil {
		got, _ := doc["labels"].(map[string]any)
		if !maps.Equal(got, labels) {
			t.Errorf("labels = %v, want %v", got, labels)
		}
	}
}

// TestPostMatchesRecordedMaestroResponse compares our POST answer with the body a real
// Maestro gave for the same request.
func TestPostMatchesRecordedMaestroResponse(t *testing.T) {
	f := newFixture(t)
	recorded, err := os.ReadFile("testdata/consumer-post-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(recorded, &want); err != nil {
		t.Fatal(err)
	}
	got := f.create("cluster1", nil)
	assertKeys(t, got, keysOf(want))
	assertConsumer(t, got, want["name"].(string), nil)
	if got["created_at"] != got["updated_at"] {
		t.Errorf("created_at %v != updated_at %v on a new consumer", got["created_at"], got["updated_at"])
	}
}

func TestCreate(t *testing.T) {
	f := newFixture(t)
	const opID = "op-123"

	doc := f.create("cluster1", map[string]string{"env": "dev"})
	assertConsumer(t, doc, "cluster1", map[string]any{"env": "dev"})
	var labels string
	if err := f.pool.QueryRow(t.Context(), "SELECT labels::text FROM consumers WHERE id = $1", doc["id"]).Scan(&labels); err != nil {
		t.Fatal(err)
	}
	if labels != `{"env": "dev"}` {
		t.Errorf("labels column = %s", labels)
	}

	t.Run("no labels is SQL NULL", func(t *testing.T) {
		doc := f.create("cluster2", nil)
		var isNull bool
		if err := f.pool.QueryRow(t.Context(), "SELECT labels IS NULL FROM consumers WHERE id = $1", doc["id"]).Scan(&isNull); err != nil {
			t.Fatal(err)
		}
		if !isNull {
			t.Error("labels of a consumer created without labels are not SQL NULL")
		}
	})
	t.Run("name defaults to id", func(t *testing.T) {
		r := f.call(http.MethodPost, "/api/maestro/v1/consumers", `{}`, "")
		if r.status != http.StatusCreated || r.doc["name"] != r.doc["id"] {
			t.Errorf("%d name=%v id=%v", r.status, r.doc["name"], r.doc["id"])
		}
	})
	t.Run("duplicate name is 409", func(t *testing.T) {
		r := f.call(http.MethodPost, "/api/maestro/v1/consumers", `{"name":"cluster1"}`, opID)
		assertError(t, r, http.StatusConflict, "6", "This Consumer already exists", opID)
	})
	t.Run("id set is 400 maestro-8", func(t *testing.T) {
		r := f.call(http.MethodPost, "/api/maestro/v1/consumers", `{"id":"x","name":"c9"}`, opID)
		assertError(t, r, http.StatusBadRequest, "8", "id must be empty", opID)
	})
	t.Run("bad JSON is 400 maestro-17", func(t *testing.T) {
		r := f.call(http.MethodPost, "/api/maestro/v1/consumers", `{"name":`, opID)
		assertError(t, r, http.StatusBadRequest, "17", "Invalid request format: ", opID)
	})
	t.Run("invalid name is 500 maestro-9", func(t *testing.T) {
		for _, name := range []string{"a.b", "Upper", strings.Repeat("x", 64), "-lead"} {
			r := f.call(http.MethodPost, "/api/maestro/v1/consumers", `{"name":"`+name+`"}`, opID)
			assertError(t, r, http.StatusInternalServerError, "9",
				`Unable to create Consumer: consumer.name: Invalid value: "`+name+`"`, opID)
		}
	})
	t.Run("operation id is made up when absent", func(t *testing.T) {
		r := f.call(http.MethodPost, "/api/maestro/v1/consumers", `{"name":"cluster1"}`, "")
		if op, _ := r.doc["operation_id"].(string); op == "" || r.header.Get("X-Operation-ID") != op {
			t.Errorf("operation_id %q, header %q", op, r.header.Get("X-Operation-ID"))
		}
	})
}

func TestGet(t *testing.T) {
	f := newFixture(t)
	created := f.create("cluster1", map[string]string{"a": "1"})
	id := created["id"].(string)

	r := f.call(http.MethodGet, "/api/maestro/v1/consumers/"+id, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET by id: %d %s", r.status, r.raw)
	}
	assertConsumer(t, r.doc, "cluster1", map[string]any{"a": "1"})

	// The path takes ids only; a name is just an unknown id.
	r = f.call(http.MethodGet, "/api/maestro/v1/consumers/cluster1", "", "op")
	assertError(t, r, http.StatusNotFound, "7", "Consumer with id='cluster1' not found", "op")

	r = f.call(http.MethodGet, "/api/maestro/v1/consumers/"+id+"/", "", "")
	if r.status != http.StatusOK {
		t.Errorf("trailing slash: %d", r.status)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"c1", "c2", "c3"} {
		f.create(name, nil)
	}
	list := func(query string) response {
		t.Helper()
		return f.call(http.MethodGet, "/api/maestro/v1/consumers"+query, "", "op")
	}
	names := func(r response) []string {
		var out []string
		for _, item := range r.doc["items"].([]any) {
			out = append(out, item.(map[string]any)["name"].(string))
		}
		return out
	}
	cases := []struct {
		query             string
		page, size, total float64
		names             []string
	}{
		{"", 1, 3, 3, []string{"c1", "c2", "c3"}},
		{"?search=name%3D%27c2%27", 1, 1, 1, []string{"c2"}},
		{"?search=" + urlQuery("name = 'c1' or name in ('c3', 'nope')"), 1, 2, 2, []string{"c1", "c3"}},
		{"?search=" + urlQuery("not (name like 'c%') "), 1, 0, 0, nil},
		{"?search=" + urlQuery("name = 'missing'"), 1, 0, 0, nil},
		{"?orderBy=" + urlQuery("name desc"), 1, 3, 3, []string{"c3", "c2", "c1"}},
		{"?size=1&page=2", 2, 1, 3, []string{"c2"}},
		{"?size=0", 1, 0, 3, nil},
		{"?size=-1", 1, 3, 3, []string{"c1", "c2", "c3"}},
	}
	for _, c := range cases {
		r := list(c.query)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s", c.query, r.status, r.raw)
			continue
		}
		assertKeys(t, r.doc, []string{"items", "kind", "page", "size", "total"})
		if r.doc["kind"] != "ConsumerList" || r.doc["page"] != c.page || r.doc["size"] != c.size || r.doc["total"] != c.total {
			t.Errorf("%s: kind %v page %v size %v total %v", c.query, r.doc["kind"], r.doc["page"], r.doc["size"], r.doc["total"])
		}
		if got := names(r); !slices.Equal(got, c.names) {
			t.Errorf("%s: names %v, want %v", c.query, got, c.names)
		}
	}

	assertError(t, list("?search="+urlQuery("name = ")), http.StatusBadRequest, "21", "Failed to parse search query: name =", "op")
	assertError(t, list("?search="+urlQuery("nosuchcolumn = 'x'")), http.StatusInternalServerError, "9", "Unable to list resources: ", "op")
	assertError(t, list("?orderBy="+urlQuery("name sideways")), http.StatusBadRequest, "21", "bad order value 'name sideways'", "op")
}

func urlQuery(s string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27", "=", "%3D", "%", "%25", "(", "%28", ")", "%29", ",", "%2C").Replace(s)
}

func TestPatch(t *testing.T) {
	f := newFixture(t)
	created := f.create("cluster1", map[string]string{"a": "1", "b": "2"})
	path := "/api/maestro/v1/consumers/" + created["id"].(string)

	r := f.call(http.MethodPatch, path, `{"labels":{"c":"3"}}`, "")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	assertConsumer(t, r.doc, "cluster1", map[string]any{"c": "3"})
	if r.doc["updated_at"] == created["updated_at"] || r.doc["id"] != created["id"] {
		t.Errorf("updated_at %v (was %v), id %v", r.doc["updated_at"], created["updated_at"], r.doc["id"])
	}

	r = f.call(http.MethodPatch, path, `{"name":"renamed"}`, "")
	if r.status != http.StatusOK || r.doc["name"] != "cluster1" {
		t.Errorf("name must not be patchable: %d %v", r.status, r.doc["name"])
	}
	assertConsumer(t, r.doc, "cluster1", map[string]any{"c": "3"}) // no labels key: no-op

	r = f.call(http.MethodPatch, path, `{"labels":{}}`, "")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	assertConsumer(t, r.doc, "cluster1", nil)
	var isNull bool
	if err := f.pool.QueryRow(t.Context(), "SELECT labels IS NULL FROM consumers WHERE id = $1", created["id"]).Scan(&isNull); err != nil || !isNull {
		t.Errorf("labels column after clearing: null=%v err=%v", isNull, err)
	}

	assertError(t, f.call(http.MethodPatch, "/api/maestro/v1/consumers/nope", `{"labels":{}}`, "op"),
		http.StatusNotFound, "7", "Consumer with id='nope' not found", "op")
	assertError(t, f.call(http.MethodPatch, path, `labels`, "op"),
		http.StatusBadRequest, "17", "Invalid request format: ", "op")
}

func TestDeleteRefusedWhileResourcesReferenceTheConsumer(t *testing.T) {
	f := newFixture(t)
	created := f.create("cluster1", nil)
	path := "/api/maestro/v1/consumers/" + created["id"].(string)
	live := f.insertResource("cluster1", false)
	deleting := f.insertResource("cluster1", true)

	for _, remove := range []string{live, deleting} {
		r := f.call(http.MethodDelete, path, "", "op")
		assertError(t, r, http.StatusForbidden, "4", "Unable to delete Consumer: ", "op")
		if !strings.Contains(r.doc["reason"].(string), `violates foreign key constraint "fk_resources_consumers"`) {
			t.Errorf("reason %q does not name the foreign key", r.doc["reason"])
		}
		if _, err := f.pool.Exec(t.Context(), "DELETE FROM resources WHERE id = $1", remove); err != nil {
			t.Fatal(err)
		}
	}

	r := f.call(http.MethodDelete, path, "", "")
	if r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("delete: %d %q", r.status, r.raw)
	}
	if r := f.call(http.MethodGet, path, "", ""); r.status != http.StatusNotFound {
		t.Errorf("GET after delete: %d", r.status)
	}
	if r := f.call(http.MethodDelete, path, "", ""); r.status != http.StatusNoContent {
		t.Errorf("deleting an unknown id: %d, want 204", r.status)
	}
}

func TestAPIRootAndErrors(t *testing.T) {
	f := newFixture(t)
	r := f.call(http.MethodGet, "/api/maestro", "", "")
	if r.status != http.StatusOK || r.doc["id"] != "maestro" || r.doc["kind"] != "API" {
		t.Errorf("/api/maestro: %d %s", r.status, r.raw)
	}
	r = f.call(http.MethodGet, "/api/maestro/v1/errors/4", "", "")
	if r.status != http.StatusOK || r.doc["code"] != "maestro-4" || r.doc["reason"] != "Forbidden to perform this action" {
		t.Errorf("/errors/4: %d %s", r.status, r.raw)
	}
	r = f.call(http.MethodGet, "/api/maestro/v1/errors", "", "")
	if r.status != http.StatusOK || r.doc["kind"] != "ErrorList" || r.doc["total"] != float64(13) {
		t.Errorf("/errors: %d %s", r.status, r.raw)
	}
	r = f.call(http.MethodGet, "/api/maestro/v1/nothing-here", "", "")
	if r.status != http.StatusNotFound || r.doc["kind"] != "Error" {
		t.Errorf("unknown path: %d %s", r.status, r.raw)
	}
}
