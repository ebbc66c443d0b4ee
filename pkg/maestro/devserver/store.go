package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const consumersTable = "consumers"

// PostgreSQL error codes the handlers turn into Maestro's answers.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

// consumerRow is one row of Maestro's consumers table.
type consumerRow struct {
	ID        string
	CreatedAt time.Time
	UpdatedAt time.Time
	Name      string
	Labels    map[string]string
}

// store reads and writes the consumers table the way Maestro's GORM DAO does: hard deletes,
// labels as a JSON object or SQL NULL, deleted_at never set.
type store struct {
	pool *pgxpool.Pool
}

const consumerColumns = "id, created_at, updated_at, name, labels"

func (s *store) insert(ctx context.Context, c consumerRow) error {
	_, err := s.pool.Exec(ctx,
		"INSERT INTO consumers (id, created_at, updated_at, deleted_at, name, labels) VALUES ($1, $2, $3, NULL, $4, $5)",
		c.ID, c.CreatedAt, c.UpdatedAt, c.Name, labelsValue(c.Labels))
	return err
}

func (s *store) get(ctx context.Context, id string) (consumerRow, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+consumerColumns+" FROM consumers WHERE id = $1 LIMIT 1", id)
	if err != nil {
		return consumerRow{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanConsumer)
}

// replace writes every column of c, like GORM's Save.
func (s *store) replace(ctx context.Context, c consumerRow) error {
	_, err := s.pool.Exec(ctx,
		"UPDATE consumers SET created_at = $2, updated_at = $3, name = $4, labels = $5 WHERE id = $1",
		c.ID, c.CreatedAt, c.UpdatedAt, c.Name, labelsValue(c.Labels))
	return err
}

func (s *store) delete(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM consumers WHERE id = $1", id)
	return err
}

// listQuery is a translated list request.
type listQuery struct {
	where   string // SQL condition, empty for all rows
	args    []any
	orderBy []string // "<quoted column> asc|desc"
	offset  int
	limit   int // zero: count only
}

func (s *store) list(ctx context.Context, q listQuery) ([]consumerRow, int, error) {
	where := ""
	if q.where != "" {
		where = " WHERE " + q.where
	}
	var total int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM consumers"+where, q.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if q.limit == 0 {
		return []consumerRow{}, total, nil
	}
	order := append(append([]string{}, q.orderBy...), "consumers.created_at asc", "consumers.id asc")
	sql := "SELECT " + consumerColumns + " FROM consumers" + where +
		" ORDER BY " + strings.Join(order, ", ") +
		" LIMIT " + strconv.Itoa(q.limit) + " OFFSET " + strconv.Itoa(q.offset)
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, 0, err
	}
	items, err := pgx.CollectRows(rows, scanConsumer)
	return items, total, err
}

func scanConsumer(row pgx.CollectableRow) (consumerRow, error) {
	var c consumerRow
	var labels []byte
	if err := row.Scan(&c.ID, &c.CreatedAt, &c.UpdatedAt, &c.Name, &labels); err != nil {
		return c, err
	}
	// SQL NULL and JSON null both mean "no labels".
	if len(labels) > 0 && string(labels) != "null" {
		if err := json.Unmarshal(labels, &c.Labels); err != nil {
			return c, fmt.Errorf("consumer %s: labels: %w", c.ID, err)
		}
	}
	return c, nil
}

// labelsValue is what goes into the labels column: SQL NULL when there are none, as
// Maestro's StringMap writes it, never a JSON null or {}.
func labelsValue(labels map[string]string) any {
	if len(labels) == 0 {
		return nil
	}
	return labels
}

func pgErrorCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
