package db

import (
	"context"

	"crm/platform/errs"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// First scans the first row q selects into its model; false when there is
// none. On PostgreSQL forUpdate locks the row until the end of the
// transaction (on SQLite a writing transaction holds the whole database).
func First(ctx context.Context, q *bun.SelectQuery, forUpdate bool) (bool, error) {
	if forUpdate && q.Dialect().Name() == dialect.PG {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if IsNoRows(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// One scans the one row q selects into its model, as First does; a row that
// is not there (or that the caller may not see: q carries the scope) is the
// contract's 404.
func One(ctx context.Context, q *bun.SelectQuery, forUpdate bool) error {
	found, err := First(ctx, q, forUpdate)
	if err == nil && !found {
		return errs.NotFound()
	}
	return err
}
