package testenv

import (
	"context"
	_ "embed" // MaestroSchemaSQL
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// MaestroSchemaSQL creates Maestro's tables, indexes and foreign keys as of
// migration 202412181141 and records its ten migrations, so a real
// `maestro migration` against the result does nothing (maestro.md section 1).
// It is one multi-statement script for the simple query protocol or psql.
//
//go:embed maestro_schema.sql
var MaestroSchemaSQL string

// SQLExecer is what ApplyMaestroSchema needs; *pgx.Conn, *pgxpool.Pool and
// pgx.Tx all have it.
type SQLExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ApplyMaestroSchema creates Maestro's schema in the connected database unless
// it already has one (a migrations table, made by Maestro itself or by an
// earlier call), so it is safe to call on every start of a development stack.
func ApplyMaestroSchema(ctx context.Context, db SQLExecer) error {
	var exists bool
	if err := db.QueryRow(ctx, "SELECT to_regclass('migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("checking for Maestro's schema: %w", err)
	}
	if exists {
		return nil
	}
	// Without arguments pgx sends the script as one simple query, which
	// PostgreSQL runs as a single transaction: all of it or nothing.
	if _, err := db.Exec(ctx, MaestroSchemaSQL); err != nil {
		return fmt.Errorf("creating Maestro's schema: %w", err)
	}
	return nil
}
