package db

import (
	"context"

	"github.com/uptrace/bun"
)

type txKey struct{}

// WithTx makes tx the database handle of every query made with ctx (the
// request's transaction, which on PostgreSQL carries the account for
// row-level security).
func WithTx(ctx context.Context, tx bun.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFrom returns the transaction ctx carries, if any.
func TxFrom(ctx context.Context) (bun.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(bun.Tx)
	return tx, ok
}

// Use returns the handle queries of ctx must use: the request's transaction
// when there is one, else fallback. Stores call it for every query.
func Use(ctx context.Context, fallback bun.IDB) bun.IDB {
	if tx, ok := TxFrom(ctx); ok {
		return tx
	}
	return fallback
}
