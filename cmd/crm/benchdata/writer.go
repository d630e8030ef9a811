package benchdata

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// writer is the one transaction the whole load runs in. Queries use "?"
// placeholders on both databases.
type writer interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	int64s(ctx context.Context, query string, args ...any) ([]int64, error)
	texts(ctx context.Context, query string, args ...any) ([][]string, error)
	// insert writes rows in bulk: COPY on PostgreSQL, multi-row INSERTs on
	// SQLite.
	insert(ctx context.Context, table string, cols []string, rows [][]any) error
	// reserveIDs takes n new ids of table's id column, ascending, so that
	// rows referencing them can be written in the same batch.
	reserveIDs(ctx context.Context, table string, n int) ([]int64, error)
	tables(ctx context.Context) (withAccount []string, fks [][2]string, err error)
}

// ------------------------------------------------------------ PostgreSQL

type pgWriter struct{ tx pgx.Tx }

// rebind turns "?" placeholders into "$1", "$2", ….
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (w pgWriter) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := w.tx.Exec(ctx, rebind(q), args...)
	return tag.RowsAffected(), err
}

func (w pgWriter) int64s(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := w.tx.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (w pgWriter) texts(ctx context.Context, q string, args ...any) ([][]string, error) {
	rows, err := w.tx.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		out := make([]string, len(r.FieldDescriptions()))
		ptrs := make([]any, len(out))
		for i := range out {
			ptrs[i] = &out[i]
		}
		return out, r.Scan(ptrs...)
	})
}

func (w pgWriter) insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	n, err := w.tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	if int(n) != len(rows) {
		return fmt.Errorf("copy into %s: %d rows written, %d sent", table, n, len(rows))
	}
	return nil
}

func (w pgWriter) reserveIDs(ctx context.Context, table string, n int) ([]int64, error) {
	ids, err := w.int64s(ctx, "SELECT nextval(pg_get_serial_sequence(?, 'id')) FROM generate_series(1, ?::int)", table, n)
	if err != nil {
		return nil, fmt.Errorf("reserve ids of %s: %w", table, err)
	}
	slices.Sort(ids)
	return ids, nil
}

func (w pgWriter) tables(ctx context.Context) ([]string, [][2]string, error) {
	rows, err := w.texts(ctx, `SELECT c.relname::text FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY 1`)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, r := range rows {
		names = append(names, r[0])
	}
	fkRows, err := w.texts(ctx, `SELECT c.relname::text, p.relname::text FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid
		JOIN pg_class p ON p.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, nil, err
	}
	var fks [][2]string
	for _, r := range fkRows {
		fks = append(fks, [2]string{r[0], r[1]})
	}
	return names, fks, nil
}

// ---------------------------------------------------------------- SQLite

type sqliteWriter struct{ tx bun.Tx }

// sqliteBatch is the rows of one INSERT statement.
const sqliteBatch = 250

func (w sqliteWriter) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := w.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (w sqliteWriter) int64s(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := w.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (w sqliteWriter) texts(ctx context.Context, q string, args ...any) ([][]string, error) {
	rows, err := w.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		r := make([]string, len(cols))
		ptrs := make([]any, len(r))
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// insert writes multi-row INSERTs; Bun formats the values as it does for
// its own models (times in its SQLite text format), so the rows read back
// exactly like rows the API wrote.
func (w sqliteWriter) insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	head := `INSERT INTO "` + table + `" ("` + strings.Join(cols, `", "`) + `") VALUES `
	for start := 0; start < len(rows); start += sqliteBatch {
		chunk := rows[start:min(start+sqliteBatch, len(rows))]
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, len(chunk)*len(cols))
		for i, r := range chunk {
			if len(r) != len(cols) {
				return fmt.Errorf("insert into %s: row has %d values for %d columns", table, len(r), len(cols))
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, r...)
		}
		if _, err := w.tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

func (w sqliteWriter) reserveIDs(ctx context.Context, table string, n int) ([]int64, error) {
	// The transaction holds SQLite's write lock, so nobody else takes ids
	// between this read and the insert.
	last, err := w.int64s(ctx, `SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0),
		COALESCE((SELECT max(id) FROM "`+table+`"), 0))`, table)
	if err != nil {
		return nil, fmt.Errorf("reserve ids of %s: %w", table, err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = last[0] + int64(i) + 1
	}
	return ids, nil
}

func (w sqliteWriter) tables(ctx context.Context) ([]string, [][2]string, error) {
	all, err := w.texts(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	var fks [][2]string
	for _, r := range all {
		t := r[0]
		has, err := w.int64s(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = 'account_id'`, t)
		if err != nil {
			return nil, nil, err
		}
		if has[0] > 0 {
			names = append(names, t)
		}
		parents, err := w.texts(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, t)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range parents {
			fks = append(fks, [2]string{t, p[0]})
		}
	}
	return names, fks, nil
}
