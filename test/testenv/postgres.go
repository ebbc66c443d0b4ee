package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresOptions says which PostgreSQL server the tests use.
type PostgresOptions struct {
	// DatabaseURL is an existing server to create the test databases on; its user
	// needs CREATEDB. Empty means $DATABASE_URL; when both are empty a throwaway
	// cluster is started.
	DatabaseURL string
	// Local always starts a throwaway cluster, ignoring DatabaseURL and
	// $DATABASE_URL. Tests that stop or restart the server need one.
	Local bool
	// BinDir holds initdb, postgres and pg_dump. Empty means $TESTENV_PG_BINDIR,
	// then the directory of initdb on PATH, then the newest
	// /usr/lib/postgresql/<version>/bin.
	BinDir string
}

// PostgresCluster is a PostgreSQL server the tests create databases on: either a
// throwaway cluster this package runs, or the server given by DATABASE_URL.
type PostgresCluster struct {
	binDir   string
	adminDSN string
	local    *localPostgres // nil when using an existing server
}

// StartPostgres starts a throwaway PostgreSQL cluster (or connects to
// DATABASE_URL) and removes it when the test ends.
func StartPostgres(tb testing.TB, opts PostgresOptions) *PostgresCluster {
	tb.Helper()
	c, err := NewPostgresCluster(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("testenv: stopping PostgreSQL: %v", err)
		}
	})
	return c
}

// Postgres returns a fresh database holding Maestro's schema on a cluster of its
// own. Prefer a SharedPostgres when a package has several such tests.
func Postgres(tb testing.TB) *PostgresDB {
	tb.Helper()
	return StartPostgres(tb, PostgresOptions{}).NewDatabase(tb)
}

// NewPostgresCluster is StartPostgres for callers without a testing.TB, such as
// TestMain. The caller must Close it.
func NewPostgresCluster(ctx context.Context, opts PostgresOptions) (*PostgresCluster, error) {
	binDir, binErr := findPostgresBinDir(opts.BinDir)
	databaseURL := opts.DatabaseURL
	if databaseURL == "" {
		databaseURL = os.Getenv("DATABASE_URL")
	}
	if databaseURL != "" && !opts.Local {
		if _, err := pgconn.ParseConfig(databaseURL); err != nil {
			return nil, fmt.Errorf("parsing DATABASE_URL: %w", err)
		}
		return &PostgresCluster{binDir: binDir, adminDSN: databaseURL}, nil
	}
	if binErr != nil {
		return nil, binErr
	}
	local, err := newLocalPostgres(ctx, binDir)
	if err != nil {
		return nil, fmt.Errorf("starting throwaway PostgreSQL: %w", err)
	}
	return &PostgresCluster{binDir: binDir, adminDSN: local.adminDSN(), local: local}, nil
}

// AdminDSN connects to the server's maintenance database as a user that may
// create databases.
func (c *PostgresCluster) AdminDSN() string { return c.adminDSN }

// BinDir is the directory holding the PostgreSQL programs (pg_dump, psql...); it
// may be empty when an existing server is used and none are installed.
func (c *PostgresCluster) BinDir() string { return c.binDir }

// SocketDir is the directory holding the throwaway cluster's unix socket, for
// psql -h; empty when an existing server is used.
func (c *PostgresCluster) SocketDir() string {
	if c.local == nil {
		return ""
	}
	return c.local.dir
}

// Stop shuts the server down (fast shutdown: open sessions are terminated). The
// data survives for Start.
func (c *PostgresCluster) Stop(tb testing.TB) {
	tb.Helper()
	c.mustBeLocal(tb, "stop")
	if err := c.local.stop(syscall.SIGINT); err != nil {
		tb.Fatalf("testenv: stopping PostgreSQL: %v", err)
	}
}

// Start starts a stopped server again on the same port and directory.
func (c *PostgresCluster) Start(tb testing.TB) {
	tb.Helper()
	c.mustBeLocal(tb, "start")
	if err := c.local.start(tb.Context()); err != nil {
		tb.Fatalf("testenv: starting PostgreSQL: %v", err)
	}
}

// Restart stops the server and starts it again on the same port and directory,
// as an operator's restart or failover would.
func (c *PostgresCluster) Restart(tb testing.TB) {
	tb.Helper()
	c.Stop(tb)
	c.Start(tb)
}

func (c *PostgresCluster) mustBeLocal(tb testing.TB, what string) {
	tb.Helper()
	if c.local == nil {
		tb.Fatalf("testenv: cannot %s the PostgreSQL server given by DATABASE_URL; "+
			"start a cluster with PostgresOptions{Local: true}", what)
	}
}

// Close stops a throwaway cluster and removes its files; for an existing server
// it does nothing.
func (c *PostgresCluster) Close() error {
	if c.local == nil {
		return nil
	}
	return c.local.close()
}

// NewDatabase creates a database with Maestro's schema (maestro.md section 1,
// including the migrations rows) and drops it when the test ends.
func (c *PostgresCluster) NewDatabase(tb testing.TB) *PostgresDB {
	tb.Helper()
	db := c.NewEmptyDatabase(tb)
	conn := db.Connect(tb)
	defer func() { _ = conn.Close(context.Background()) }()
	if err := ApplyMaestroSchema(tb.Context(), conn); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return db
}

// NewEmptyDatabase creates an empty database and drops it when the test ends.
func (c *PostgresCluster) NewEmptyDatabase(tb testing.TB) *PostgresDB {
	tb.Helper()
	name, err := databaseName(tb.Name())
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	if err := c.exec(tb.Context(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("testenv: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if c.local != nil && !c.local.running() {
			return // a test left its own cluster stopped; Close removes it all
		}
		// FORCE: connections a test forgot to close must not keep it alive.
		err := c.exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		if err != nil {
			tb.Errorf("testenv: dropping database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(c.adminDSN, name)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return &PostgresDB{Name: name, dsn: dsn, cluster: c}
}

func (c *PostgresCluster) exec(ctx context.Context, sql string) error {
	conn, err := pgconn.Connect(ctx, c.adminDSN)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql).ReadAll()
	return err
}

// PostgresDB is one database of a PostgresCluster, private to one test.
type PostgresDB struct {
	// Name is the database name, random so that tests never collide.
	Name    string
	dsn     string
	cluster *PostgresCluster
}

// DSN is the connection string (a postgres:// URL unless DATABASE_URL was in
// keyword/value form) for pgx, psql and our processes' flags.
func (d *PostgresDB) DSN() string { return d.dsn }

// Cluster is the server holding the database, for Stop/Start/Restart.
func (d *PostgresDB) Cluster() *PostgresCluster { return d.cluster }

// Connect opens a connection that is closed when the test ends.
func (d *PostgresDB) Connect(tb testing.TB) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), d.dsn)
	if err != nil {
		tb.Fatalf("testenv: connecting to %s: %v", d.Name, err)
	}
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// Pool opens a connection pool that is closed when the test ends.
func (d *PostgresDB) Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(tb.Context(), d.dsn)
	if err != nil {
		tb.Fatalf("testenv: opening a pool on %s: %v", d.Name, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

var notIdentChar = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName makes a unique name that still tells which test made it.
func databaseName(testName string) (string, error) {
	const maxReadable = 40 // PostgreSQL truncates identifiers at 63 bytes
	readable := notIdentChar.ReplaceAllString(strings.ToLower(testName), "_")
	if len(readable) > maxReadable {
		readable = readable[:maxReadable]
	}
	random := make([]byte, 6)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return "t_" + readable + "_" + hex.EncodeToString(random), nil
}

// withDatabase points a connection string at another database, in either of
// libpq's two forms.
func withDatabase(dsn, database string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parsing connection URL: %w", err)
		}
		u.Path, u.RawPath = "/"+database, ""
		return u.String(), nil
	}
	// In keyword/value form the last occurrence of a keyword wins.
	return dsn + " dbname=" + database, nil
}

func findPostgresBinDir(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if dir := os.Getenv("TESTENV_PG_BINDIR"); dir != "" {
		return dir, nil
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		// Debian links initdb into PATH but keeps postgres and pg_dump beside the real one.
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			return filepath.Dir(real), nil
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New("PostgreSQL server programs (initdb, postgres) not found: " +
			"install them (Debian: apt-get install -y postgresql), set TESTENV_PG_BINDIR, " +
			"or set DATABASE_URL to an existing server")
	}
	slices.SortFunc(found, func(a, b string) int { return pgMajor(a) - pgMajor(b) })
	return filepath.Dir(found[len(found)-1]), nil
}

// pgMajor is the version in /usr/lib/postgresql/<version>/bin/initdb.
func pgMajor(initdbPath string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdbPath))))
	return v
}
