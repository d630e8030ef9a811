package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

type txKey struct{}
type requestKey struct{}

// WithTx makes tx the database handle of every query made with ctx.
func WithTx(ctx context.Context, tx bun.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// request is the database work of one HTTP request on PostgreSQL, with the
// request's account set for row-level security in every statement.
//
// A request that writes runs in a transaction: begun on its first query
// with its settings (the app role, the account) in the same message, and
// committed or rolled back once the handler has returned, before the answer
// is written.
//
// A read-only request (GET) runs its queries on the pool without a
// transaction, each one sent with its settings before it in one message
// (begin.go): one round trip per query, and nothing left on the connection
// for whatever uses it next, directly or through a pooler. Under READ
// COMMITTED each statement takes its own snapshot inside a transaction too,
// so nothing a reader sees changes. A read-only request that still asks
// for a transaction (InTx) gets one.
type request struct {
	mu          sync.Mutex
	db          *bun.DB
	accountText string // the account, as set_config takes it
	read        bool
	conn        bun.Conn
	pinned      bool
	tx          bun.Tx
	begun       bool
	done        bool
	err         error
	after       []func()
}

// BeginRequest gives ctx a request's database work on d for the account;
// read says the request only reads. Nothing is sent to the database until
// the first query. Only PostgreSQL uses it (row-level security); on SQLite
// queries run on the pool.
func BeginRequest(ctx context.Context, d *bun.DB, accountID int64, read bool) context.Context {
	if DialectOf(d) != Postgres {
		return ctx
	}
	r := &request{db: d, accountText: strconv.FormatInt(accountID, 10), read: read}
	if !ours(d.DB) {
		r.err = errForeignPool
	}
	return context.WithValue(ctx, requestKey{}, r)
}

// AfterCommit runs fn once the request's work has ended well (its
// transaction, if it had one, committed), before the answer is written. It
// reports false, and never runs fn, when ctx has no request work (SQLite, or
// outside a request) or it has already ended.
func AfterCommit(ctx context.Context, fn func()) bool {
	r, ok := ctx.Value(requestKey{}).(*request)
	if !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return false
	}
	r.after = append(r.after, fn)
	return true
}

// handle is the handle of the request's queries: its transaction once begun,
// else, for a read-only request, its connection (taken on the first query),
// whose every statement carries the request's settings.
func (r *request) handle(ctx context.Context) (bun.IDB, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil && !r.begun && r.read {
		if err := r.pinLocked(ctx); err != nil {
			return nil, err
		}
		return r.conn, nil
	}
	return r.txLocked(ctx)
}

// get returns the request's transaction, beginning it on the first call.
func (r *request) get(ctx context.Context) (bun.Tx, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.txLocked(ctx)
}

func (r *request) txLocked(ctx context.Context) (bun.Tx, error) {
	if r.begun || r.err != nil {
		return r.tx, r.err
	}
	if r.pinned {
		// The read-only request's connection has the account.
		tx, err := r.conn.BeginTx(ctx, nil)
		if err != nil {
			r.err = err
			return tx, err
		}
		r.tx, r.begun = tx, true
		return tx, nil
	}
	// ctx carries the request: its BEGIN sets the request's settings
	// (begin.go).
	tx, err := r.db.BeginTx(context.WithValue(ctx, requestKey{}, r), nil)
	if err != nil {
		r.err = err
		return tx, err
	}
	r.tx, r.begun = tx, true
	return tx, nil
}

// errForeignPool: request work needs a pool opened by Open, whose
// connections set the account (begin.go); any other would run it with none.
var errForeignPool = errors.New("db: a request's pool must be opened by db.Open")

// pinLocked takes the read-only request's connection and makes it carry the
// request's account.
func (r *request) pinLocked(ctx context.Context) error {
	if r.pinned {
		return nil
	}
	c, err := r.db.Conn(ctx)
	if err != nil {
		r.err = err
		return err
	}
	err = c.Raw(func(dc any) error {
		sc, ok := dc.(*settingsConn)
		if !ok {
			return errForeignPool
		}
		sc.account = r.accountText
		return nil
	})
	if err != nil {
		_ = c.Close()
		r.err = err
		return err
	}
	r.conn, r.pinned = c, true
	return nil
}

// EndRequest commits the request's transaction (or rolls it back when
// failed). It is a no-op when no query was made or it already ended.
func EndRequest(ctx context.Context, failed bool) error {
	r, ok := ctx.Value(requestKey{}).(*request)
	if !ok {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil
	}
	r.done = true
	var err error
	switch {
	case r.begun && failed:
		err = r.tx.Rollback()
	case r.begun:
		err = r.tx.Commit()
	default:
		err = r.err
	}
	if r.pinned {
		_ = r.conn.Close() // back to the pool, which forgets the account (begin.go)
	}
	if err == nil && !failed {
		for _, fn := range r.after {
			fn()
		}
	}
	return err
}

// TxFrom returns the transaction ctx carries, if any (beginning the request
// transaction when that is the one). When the request's transaction could not
// begin, it answers false and an error wrapping ErrRequestAborted: the caller
// must not fall back to the pool.
func TxFrom(ctx context.Context) (bun.Tx, bool, error) {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx, true, nil
	}
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		tx, err := r.get(ctx)
		if err != nil {
			return tx, false, fmt.Errorf("%w: %w", ErrRequestAborted, err)
		}
		return tx, true, nil
	}
	return bun.Tx{}, false, nil
}

// Use returns the handle queries of ctx must use: the request's transaction
// when there is one, else fallback. Stores call it for every query. When the
// request's transaction could not begin (the database is out of reach), every
// query of the request fails with ErrRequestAborted (a 503): falling back to
// the pool would run it without the request's account (row-level security)
// and outside the request's atomic unit of work.
func Use(ctx context.Context, fallback bun.IDB) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	r, ok := ctx.Value(requestKey{}).(*request)
	if !ok {
		return fallback
	}
	h, err := r.handle(ctx)
	if err != nil {
		return aborted()
	}
	return h
}

// ErrRequestAborted is what every query of a request whose transaction
// could not begin returns.
var ErrRequestAborted = errors.New("db: the request's transaction could not begin")

// aborted is a handle whose every query fails with ErrRequestAborted. Only
// PostgreSQL has request transactions, hence its dialect.
var aborted = sync.OnceValue(func() *bun.DB {
	return bun.NewDB(sql.OpenDB(abortedConnector{}), pgdialect.New())
})

type abortedConnector struct{}

func (abortedConnector) Connect(context.Context) (driver.Conn, error) { return nil, ErrRequestAborted }
func (abortedConnector) Driver() driver.Driver                        { return abortedDriver{} }

type abortedDriver struct{}

func (abortedDriver) Open(string) (driver.Conn, error) { return nil, ErrRequestAborted }
