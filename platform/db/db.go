// Package db opens the one database of the API (embedded SQLite or
// PostgreSQL, chosen by one URL), runs the migrations the modules contribute,
// runs transactions and turns driver errors into the API's error kinds.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database kind behind a *bun.DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DialectOf tells which database db talks to.
func DialectOf(db bun.IDB) Dialect {
	if db.Dialect().Name().String() == "pg" {
		return Postgres
	}
	return SQLite
}

// Options tune the pool.
type Options struct {
	MaxOpenConns int
	// Role, on PostgreSQL, is the role every transaction and statement of
	// the pool runs as (set_config('role', …, true), begin.go): the API's
	// role, subject to row-level security. Empty: the role of the URL.
	Role string
	// RandomPageCost, on PostgreSQL, is the planner's random_page_cost of
	// every transaction and statement of the pool; 0 keeps the server's.
	// (CRM_DB_RANDOM_PAGE_COST, checked by config.Load.)
	RandomPageCost float64
	// Owner marks the pool of the tables' owner: it sets nothing, whatever
	// the context of a query (db.Owner).
	Owner bool
	// Pooled: the URL is a transaction pooler (Inspect). A query whose
	// context ends is then never cancelled with a cancel request (pgx sends
	// one when it drops such a connection): through a pooler it reaches
	// whatever the server connection runs by then, and PgBouncer before
	// 1.20.1 can crash on it (its issue #822). The connection is closed
	// instead, which the pooler sees.
	Pooled bool
}

// Open opens the database named by rawURL: "sqlite:PATH" (or empty, for the
// default) or "postgres://…".
func Open(rawURL string, opts Options) (*bun.DB, error) {
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = 16
	}
	switch {
	case rawURL == "" || strings.HasPrefix(rawURL, "sqlite:"):
		return openSQLite(strings.TrimPrefix(rawURL, "sqlite:"), opts)
	case strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://"):
		cfg, err := pgx.ParseConfig(rawURL)
		if err != nil {
			return nil, fmt.Errorf("db: open postgres: %w", err)
		}
		// Bun writes every value into the SQL text, so nearly every query
		// is a text never seen before: preparing it (pgx's default) costs
		// a round trip and fills per-connection caches, on both sides, with
		// statements used once. The simple protocol sends the text once
		// (measured in BENCHMARKS.md: a fifth less CPU per request, and no
		// memory growth), and it is what a transaction pooler serves
		// without prepared-statement support. A URL may still choose its
		// default_query_exec_mode.
		if !strings.Contains(rawURL, "default_query_exec_mode=") {
			cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		}
		if opts.Pooled {
			dial := cfg.DialFunc
			cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if ctx.Value(connectingKey{}) == nil {
					return nil, errNoCancelRequest
				}
				return dial(ctx, network, addr)
			}
		}
		sqldb := sql.OpenDB(settingsConnector{Connector: stdlib.GetConnector(*cfg), settings: poolSettings(opts)})
		sqldb.SetMaxOpenConns(opts.MaxOpenConns)
		sqldb.SetMaxIdleConns(opts.MaxOpenConns)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		return bun.NewDB(sqldb, pgdialect.New()), nil
	default:
		return nil, fmt.Errorf("db: CRM_DATABASE_URL must start with sqlite: or postgres://")
	}
}

// connectingKey marks the context of a connection's dial (settingsConnector);
// any other dial of a pooled pool's connection is pgx's cancel request.
type connectingKey struct{}

var errNoCancelRequest = errors.New("db: no cancel request through a transaction pooler")

// poolSettings quotes what the pool's transactions and statements set
// (begin.go).
func poolSettings(opts Options) settings {
	if opts.Owner {
		return settings{owner: true}
	}
	var s settings
	if opts.Role != "" {
		s.role = quoteLiteral(opts.Role)
	}
	if opts.RandomPageCost > 0 {
		s.randomPageCost = "'" + strconv.FormatFloat(opts.RandomPageCost, 'f', -1, 64) + "'"
	}
	return s
}

func openSQLite(path string, opts Options) (*bun.DB, error) {
	if path == "" {
		path = "data/crm.db"
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("db: create data folder: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	sqldb.SetMaxOpenConns(opts.MaxOpenConns)
	sqldb.SetMaxIdleConns(opts.MaxOpenConns)
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// SQLitePath returns the file of a sqlite: URL, or "" for another database.
func SQLitePath(rawURL string) string {
	if rawURL == "" {
		return "data/crm.db"
	}
	if p, ok := strings.CutPrefix(rawURL, "sqlite:"); ok {
		if p == "" {
			return "data/crm.db"
		}
		return p
	}
	return ""
}

// InTx runs fn in a transaction, committing when it returns nil. When ctx
// already carries a transaction (the request's), fn runs in it and its
// error rolls the whole request back.
func InTx(ctx context.Context, db bun.IDB, fn func(tx bun.Tx) error) error {
	if tx, ok, err := TxFrom(ctx); ok {
		return fn(tx)
	} else if err != nil {
		return err
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(tx) })
}

// Kind classifies a driver error.
type Kind int

const (
	KindOther Kind = iota
	KindUnique
	KindForeignKey
	KindUnavailable
)

// Classify tells what kind of failure err is.
func Classify(err error) Kind {
	if err == nil {
		return KindOther
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return KindUnique
		case "23503":
			return KindForeignKey
		case "57P01", "57P02", "57P03", "53300":
			return KindUnavailable
		}
		if strings.HasPrefix(pgErr.Code, "08") {
			return KindUnavailable
		}
		return KindOther
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return KindUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return KindForeignKey
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return KindUnavailable
		}
		return KindOther
	}
	// The database is out of reach: no connection, or one lost mid-query
	// (a crash closes it: EOF, reset), or the request's time limit
	// (CRM_DB_TIMEOUT) ran out waiting for it.
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return KindUnavailable
	}
	// A transaction database/sql rolled back itself: it does so when the
	// transaction's context ends (CRM_DB_TIMEOUT) before the commit, which
	// then fails with ErrTxDone. Nothing was written: the database was too
	// slow, not the request wrong.
	if errors.Is(err, sql.ErrTxDone) || errors.Is(err, ErrRequestAborted) {
		return KindUnavailable
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return KindUnavailable
	}
	msg := err.Error()
	if strings.Contains(msg, "connection refused") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "conn closed") || strings.Contains(msg, "bad connection") {
		return KindUnavailable
	}
	return KindOther
}

// IsNoRows tells whether err means the row does not exist.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
