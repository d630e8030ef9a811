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

// request is the transaction of one HTTP request on PostgreSQL: begun on its
// first query, with the request's account set for row-level security
// (set_config('app.account_id', …, true), i.e. SET LOCAL), and committed or
// rolled back once the handler has returned, before the answer is written.
type request struct {
	mu      sync.Mutex
	db      *bun.DB
	account int64
	tx      bun.Tx
	begun   bool
	done    bool
	err     error
	after   []func()
}

// BeginRequest gives ctx a request transaction on d for the account. Nothing
// is sent to the database until the first query. Only PostgreSQL uses it
// (row-level security); on SQLite queries run on the pool.
func BeginRequest(ctx context.Context, d *bun.DB, accountID int64) context.Context {
	if DialectOf(d) != Postgres {
		return ctx
	}
	return context.WithValue(ctx, requestKey{}, &request{db: d, account: accountID})
}

// AfterCommit runs fn once the request transaction of ctx has committed,
// before the answer is written. It reports false, and never runs fn, when
// ctx has no request transaction (SQLite, or outside a request) or it has
// already ended.
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

func (r *request) get(ctx context.Context) (bun.Tx, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.begun || r.err != nil {
		return r.tx, r.err
	}
	// A pool opened by Open sends BEGIN and the account in one round trip
	// (begin.go); any other sets it with a second statement.
	b := &accountBegin{account: r.account}
	tx, err := r.db.BeginTx(context.WithValue(ctx, accountBeginKey{}, b), nil)
	if err != nil {
		r.err = err
		return tx, err
	}
	if !b.set {
		if _, err := tx.ExecContext(ctx, "SELECT set_config('app.account_id', ?, true)", strconv.FormatInt(r.account, 10)); err != nil {
			_ = tx.Rollback()
			r.err = err
			return tx, err
		}
	}
	r.tx, r.begun = tx, true
	return tx, nil
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
	case !r.begun:
		err = r.err
	case failed:
		return r.tx.Rollback()
	default:
		err = r.tx.Commit()
	}
	if err == nil {
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
	tx, ok, err := TxFrom(ctx)
	if ok {
		return tx
	}
	if err != nil {
		return aborted()
	}
	return fallback
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
