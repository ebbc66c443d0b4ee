package testenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cloudevents-conductor/conductor/test/testenv"
)

func TestPostgresListenNotifyOnMaestroDatabase(t *testing.T) {
	ctx := t.Context()
	db := pg.NewDatabase(t)

	listener := db.Connect(t)
	if _, err := listener.Exec(ctx, "LISTEN events"); err != nil {
		t.Fatal(err)
	}

	// What a Maestro source does for a new resource bundle (maestro.md §2.3).
	eventID := uuid.NewString()
	writer := db.Pool(t)
	err := pgx.BeginFunc(ctx, writer, func(tx pgx.Tx) error {
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO consumers (id, created_at, updated_at, name) VALUES ($1, now(), now(), 'cluster1')`,
				[]any{uuid.NewString()}},
			{`INSERT INTO resources (id, name, created_at, updated_at, source, consumer_name, version, type, payload, status)
			  VALUES ('r1', 'r1', now(), now(), 'mw-client-example', 'cluster1', 1, '', '{}', 'null')`, nil},
			{`INSERT INTO events (id, created_at, updated_at, source, source_id, event_type)
			  VALUES ($1, now(), now(), 'Resources', 'r1', 'Create')`, []any{eventID}},
			{`SELECT pg_notify('events', $1)`, []any{eventID}},
		} {
			if _, err := tx.Exec(ctx, stmt.sql, stmt.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("writing a resource and its event: %v", err)
	}

	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(waitCtx)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	if n.Channel != "events" || n.Payload != eventID {
		t.Errorf("notification = %s %q, want events %q", n.Channel, n.Payload, eventID)
	}
}

func TestPostgresDatabasesArePrivateToEachTest(t *testing.T) {
	a, b := pg.NewDatabase(t), pg.NewDatabase(t)
	if a.Name == b.Name || a.DSN() == b.DSN() {
		t.Fatalf("two calls gave the same database %s", a.Name)
	}
	if _, err := a.Connect(t).Exec(t.Context(),
		`INSERT INTO consumers (id, name) VALUES ('c1', 'cluster1')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.Connect(t).QueryRow(t.Context(), `SELECT count(*) FROM consumers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s sees %d consumers written to %s", b.Name, n, a.Name)
	}
}

func TestPostgresDatabaseIsDroppedAfterTheTest(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) { name = pg.NewDatabase(t).Name })

	var exists bool
	admin := connectAdmin(t, pg.Cluster(t).AdminDSN())
	if err := admin.QueryRow(t.Context(),
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestPostgresRestartKeepsDataAndAddress(t *testing.T) {
	ctx := t.Context()
	cluster := testenv.StartPostgres(t, testenv.PostgresOptions{Local: true})
	db := cluster.NewDatabase(t)
	pool := db.Pool(t)
	before := db.Connect(t)
	if _, err := pool.Exec(ctx, `INSERT INTO consumers (id, name) VALUES ('c1', 'cluster1')`); err != nil {
		t.Fatal(err)
	}

	cluster.Restart(t)

	if err := before.Ping(ctx); err == nil {
		t.Error("a connection from before the restart still works: the server did not restart")
	}
	var name string
	testenv.Eventually(t, 30*time.Second, func() (bool, error) {
		err := pool.QueryRow(ctx, `SELECT name FROM consumers WHERE id = 'c1'`).Scan(&name)
		return err == nil, err
	})
	if name != "cluster1" {
		t.Errorf("after restart consumer c1 is named %q, want cluster1", name)
	}
}

func TestPostgresStopRefusesConnectionsUntilStart(t *testing.T) {
	ctx := t.Context()
	cluster := testenv.StartPostgres(t, testenv.PostgresOptions{Local: true})
	db := cluster.NewDatabase(t)

	cluster.Stop(t)
	if conn, err := pgx.Connect(ctx, db.DSN()); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
	cluster.Start(t)
	if err := db.Connect(t).Ping(ctx); err != nil {
		t.Fatalf("after Start: %v", err)
	}
}

func TestPostgresUsesAnExistingServer(t *testing.T) {
	server := testenv.StartPostgres(t, testenv.PostgresOptions{Local: true})
	keywordDSN := strings.NewReplacer("postgres://postgres@127.0.0.1:", "host=127.0.0.1 user=postgres port=",
		"/postgres?sslmode=disable", " dbname=postgres sslmode=disable").Replace(server.AdminDSN())

	for _, dsn := range []string{server.AdminDSN(), keywordDSN} {
		t.Run(dsn, func(t *testing.T) {
			existing := testenv.StartPostgres(t, testenv.PostgresOptions{DatabaseURL: dsn})
			if existing.SocketDir() != "" {
				t.Fatalf("started a cluster of its own (socket %s) instead of using %s", existing.SocketDir(), dsn)
			}
			db := existing.NewDatabase(t)
			var migrations int
			if err := db.Connect(t).QueryRow(t.Context(), `SELECT count(*) FROM migrations`).Scan(&migrations); err != nil {
				t.Fatal(err)
			}
			if migrations != 10 {
				t.Errorf("%d migrations rows, want 10", migrations)
			}
			var onServer string
			admin := connectAdmin(t, server.AdminDSN())
			err := admin.QueryRow(t.Context(), `SELECT datname FROM pg_database WHERE datname = $1`, db.Name).Scan(&onServer)
			if err != nil {
				t.Errorf("database %s is not on the given server: %v", db.Name, err)
			}
		})
	}
}

func connectAdmin(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
