package testenv_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// The reference files are pg_dump -s and the migrations rows of a database made
// by a real `maestro migration` (Maestro ab480c6, PostgreSQL 15).
const (
	referenceDump       = "testdata/maestro-schema.pg_dump.sql"
	referenceMigrations = "testdata/maestro-migrations.txt"
)

func TestMaestroSchemaMatchesMaestroMigration(t *testing.T) {
	db := pg.NewDatabase(t)
	ours := schemaStatements(t, pgDump(t, db))
	reference := schemaStatements(t, readFile(t, referenceDump))

	// Guard against a normalisation that throws everything away.
	if n := countPrefix(reference, "CREATE TABLE "); n != 7 {
		t.Fatalf("reference dump has %d CREATE TABLE statements, want 7", n)
	}
	for _, s := range reference {
		if !slices.Contains(ours, s) {
			t.Errorf("missing from our schema:\n%s", s)
		}
	}
	for _, s := range ours {
		if !slices.Contains(reference, s) {
			t.Errorf("not in Maestro's schema:\n%s", s)
		}
	}
}

func TestMaestroSchemaHasMaestroMigrationsRows(t *testing.T) {
	db := pg.NewDatabase(t)
	rows, err := db.Connect(t).Query(t.Context(), `SELECT id FROM migrations ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(readFile(t, referenceMigrations))
	if !slices.Equal(got, want) {
		t.Errorf("migrations rows = %v, want %v", got, want)
	}
}

func TestApplyMaestroSchemaLeavesAnExistingSchemaAlone(t *testing.T) {
	ctx := t.Context()
	db := pg.Cluster(t).NewEmptyDatabase(t)
	conn := db.Connect(t)
	if err := testenv.ApplyMaestroSchema(ctx, conn); err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO consumers (id, name) VALUES ('c1', 'cluster1')`); err != nil {
		t.Fatal(err)
	}
	if err := testenv.ApplyMaestroSchema(ctx, conn); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM consumers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d consumers after the second apply, want the 1 written before it", n)
	}
}

// pgDump runs pg_dump -s --no-owner on the database.
func pgDump(t *testing.T, db *testenv.PostgresDB) string {
	t.Helper()
	bin := "pg_dump"
	if dir := db.Cluster().BinDir(); dir != "" {
		bin = filepath.Join(dir, "pg_dump")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--schema-only", "--no-owner", "--dbname", db.DSN())
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// schemaStatements reduces a pg_dump script to its DDL statements: comments,
// session settings, psql meta-commands and ownership are dropped, because they
// depend on the pg_dump version and the user, not on the schema.
func schemaStatements(t *testing.T, dump string) []string {
	t.Helper()
	var statements []string
	var current []string
	for line := range strings.Lines(dump) {
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "", strings.HasPrefix(trimmed, "--"), strings.HasPrefix(trimmed, `\`):
			continue
		}
		current = append(current, line)
		if strings.HasSuffix(trimmed, ";") {
			statements = append(statements, strings.Join(current, "\n"))
			current = nil
		}
	}
	if len(current) > 0 {
		t.Fatalf("unterminated statement in dump: %q", strings.Join(current, "\n"))
	}
	return slices.DeleteFunc(statements, func(s string) bool {
		return strings.HasPrefix(s, "SET ") ||
			strings.HasPrefix(s, "SELECT pg_catalog.set_config(") ||
			(strings.HasPrefix(s, "ALTER ") && strings.Contains(s, " OWNER TO "))
	})
}

func countPrefix(statements []string, prefix string) int {
	n := 0
	for _, s := range statements {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
