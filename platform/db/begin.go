package db

import (
	"context"
	"database/sql/driver"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// accountBegin, in the context of a BeginTx on a pool opened by Open, asks
// for a transaction with the account set for row-level security. set tells
// whether the driver did it.
type accountBegin struct {
	account int64
	set     bool
}

type accountBeginKey struct{}

// beginConnector wraps pgx's database/sql connector so that the request
// transaction's BEGIN and its account setting go to PostgreSQL in one
// message, on the simple protocol: one round trip instead of two.
// database/sql's BeginTx cannot pass pgx's BeginQuery; the context can.
type beginConnector struct{ driver.Connector }

func (c beginConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return beginConn{dc.(*stdlib.Conn)}, nil
}

// beginConn is pgx's connection with BeginTx taking the account from the
// context; its other methods are pgx's, Conn() included (the loader's COPY
// reaches the *pgx.Conn through it), hence the alias: an embedded field
// named Conn would hide that method.
type beginConn struct{ *pgxConn }

type pgxConn = stdlib.Conn

func (c beginConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := ctx.Value(accountBeginKey{}).(*accountBegin)
	if !ok || opts != (driver.TxOptions{}) {
		return c.pgxConn.BeginTx(ctx, opts)
	}
	pc := c.Conn()
	if pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	tx, err := pc.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SELECT set_config('app.account_id', '" +
		strconv.FormatInt(b.account, 10) + "', true)"})
	if err != nil {
		// BEGIN may have passed and set_config failed: never hand the
		// pool a connection left inside a transaction.
		if pc.PgConn().TxStatus() != 'I' {
			_ = pc.Close(context.Background())
		}
		return nil, err
	}
	b.set = true
	return pgxTx{ctx, tx}, nil
}

type pgxTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t pgxTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t pgxTx) Rollback() error { return t.tx.Rollback(t.ctx) }
