package db

import (
	"context"
	"database/sql/driver"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// accountBegin, in the context of a BeginTx on a pool opened by Open, asks
// for a transaction with the account set for row-level security. set tells
// whether the driver did it.
type accountBegin struct {
	account string
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
	return &beginConn{pgxConn: dc.(*stdlib.Conn)}, nil
}

// beginConn is pgx's connection with BeginTx taking the account from the
// context, and the session's account (below); its other methods are pgx's,
// Conn() included (the loader's COPY reaches the *pgx.Conn through it),
// hence the alias: an embedded field named Conn would hide that method.
type beginConn struct {
	*pgxConn
	// account is the connection's session value of app.account_id, what
	// row-level security reads outside a transaction that sets its own:
	// "" (unset or empty, no account) until a read-only request sets it.
	account string
}

type pgxConn = stdlib.Conn

// ResetSession runs each time database/sql hands out a connection it had
// before. Beside pgx's checks it makes the connection's session account
// right for what takes it: a read-only request's account (request.go), and
// no account outside a request. A request that writes sets its account for
// its transaction (SET LOCAL, above all else), so its connection keeps the
// session's as it is, without a round trip. So a connection a read-only
// request left with its account never serves anything else with it, and
// the next reader of the same account reuses it as it is.
func (c *beginConn) ResetSession(ctx context.Context) error {
	if err := c.pgxConn.ResetSession(ctx); err != nil {
		return err
	}
	r, ok := ctx.Value(requestKey{}).(*request)
	switch {
	case !ok:
		return c.setAccount(ctx, "")
	case r.read:
		return c.setAccount(ctx, r.accountText)
	}
	return nil
}

// setAccount makes want the session's account, with a round trip only when
// it changes. A failure leaves the setting unknown: the connection is then
// bad and database/sql discards it.
func (c *beginConn) setAccount(ctx context.Context, want string) error {
	if c.account == want {
		return nil
	}
	if _, err := c.Conn().Exec(ctx, "SELECT set_config('app.account_id', '"+want+"', false)"); err != nil {
		return driver.ErrBadConn
	}
	c.account = want
	return nil
}

func (c *beginConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := ctx.Value(accountBeginKey{}).(*accountBegin)
	if !ok || opts != (driver.TxOptions{}) {
		return c.pgxConn.BeginTx(ctx, opts)
	}
	pc := c.Conn()
	if pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	tx, err := pc.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SELECT set_config('app.account_id', '" +
		b.account + "', true)"})
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
