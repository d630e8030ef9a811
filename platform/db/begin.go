package db

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// The API's connections keep no session state: behind a transaction pooler
// (PgBouncer in transaction mode, Supabase's pooler) a session setting stays
// on a server connection that the pooler then hands to another client. So
// every transaction and every statement outside one carries its own settings
// (the app role, the request's account, the planner's random_page_cost) as
// set_config(…, true), which ends with its transaction:
//
//   - a transaction's "BEGIN; SELECT set_config(…)" is sent with its first
//     statement, in one message: no round trip of its own (a transaction
//     that sends nothing sends no BEGIN either);
//   - a statement outside a transaction (a read-only request's query, on
//     the connection the request holds) goes
//     as "SELECT set_config(…); <statement>": one message, which PostgreSQL
//     runs as one implicit transaction and a pooler keeps on one server
//     connection, still one round trip. The first result (the settings') is
//     read past.
//
// The owner's pool (Options.Owner) sets nothing: it runs as its URL's role.

// settings is what a connection of the API's pool sets around each
// transaction and statement: the role and the planner setting, already
// quoted; the account comes from the request.
type settings struct {
	role, randomPageCost string
	owner                bool
}

// sql is the settings statement for account ("" = none), or "" when there
// is nothing to set: on the owner's pool, and outside a request on a pool
// without a role (the commands' pool: VACUUM and the like cannot run in the
// implicit transaction a prefix makes).
func (s settings) sql(account string) string {
	if s.owner || (s.role == "" && account == "") {
		return ""
	}
	var b strings.Builder
	add := func(name, value string) {
		if b.Len() == 0 {
			b.WriteString("SELECT ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString("set_config('" + name + "', " + value + ", true)")
	}
	if s.role != "" {
		add("role", s.role)
	}
	// With a role, no account is set as none: whatever a session left on
	// the server connection is not inherited.
	if account != "" || s.role != "" {
		add("app.account_id", "'"+account+"'")
	}
	if s.randomPageCost != "" {
		add("random_page_cost", s.randomPageCost)
	}
	return b.String()
}

// quoteLiteral is a PostgreSQL string literal of s.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// accountOf is the account a transaction begun with ctx runs in: the
// request's, or none outside a request.
func accountOf(ctx context.Context) string {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r.accountText
	}
	return ""
}

// settingsConnector wraps pgx's database/sql connector so that its
// connections carry the pool's settings.
type settingsConnector struct {
	driver.Connector
	settings settings
}

// Driver tells the pools opened by Open apart (ours).
func (c settingsConnector) Driver() driver.Driver { return settingsDriver{c.Connector.Driver()} }

type settingsDriver struct{ driver.Driver }

// ours tells whether d's connections carry the settings (opened by Open).
func ours(d *sql.DB) bool { _, ok := d.Driver().(settingsDriver); return ok }

func (c settingsConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(context.WithValue(ctx, connectingKey{}, true))
	if err != nil {
		return nil, err
	}
	return &settingsConn{pgxConn: dc.(*stdlib.Conn), settings: c.settings}, nil
}

// settingsConn is pgx's connection with BeginTx, QueryContext and
// ExecContext carrying the settings; its other methods are pgx's, Conn()
// included (the loader's COPY reaches the *pgx.Conn through it), hence the
// alias: an embedded field named Conn would hide that method.
type settingsConn struct {
	*pgxConn
	settings settings
	// account is the account of the read-only request that holds the
	// connection (request.go), "" when none does: its statements carry it.
	account string
	// begin is the start of the transaction the connection is in while it
	// is not sent yet: it goes before the transaction's first statement.
	begin string
}

// ResetSession runs each time database/sql hands out a connection it had
// before: whoever takes it is no request's reader until it says so.
func (c *settingsConn) ResetSession(ctx context.Context) error {
	c.account, c.begin = "", ""
	return c.pgxConn.ResetSession(ctx)
}

type pgxConn = stdlib.Conn

// inTx tells whether the connection is inside a transaction, whose
// beginning set what it needs.
func (c *settingsConn) inTx() bool { return c.Conn().PgConn().TxStatus() != 'I' }

func (c *settingsConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	set := c.settings.sql(cmp.Or(c.account, accountOf(ctx)))
	if set == "" {
		return c.pgxConn.BeginTx(ctx, opts)
	}
	if opts != (driver.TxOptions{}) {
		return nil, errors.New("db: the API's pool runs its transactions with the default options")
	}
	if c.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	c.begin = "BEGIN; " + set
	return &settingsTx{c: c, ctx: ctx}, nil
}

// settingsTx ends a transaction begun by settingsConn.BeginTx, as pgx's own
// Commit and Rollback do; one that never sent its BEGIN has nothing to end.
type settingsTx struct {
	c   *settingsConn
	ctx context.Context
}

func (t *settingsTx) Commit() error { return t.end("commit") }

func (t *settingsTx) Rollback() error { return t.end("rollback") }

func (t *settingsTx) end(statement string) error {
	c := t.c
	if c.begin != "" {
		c.begin = ""
		return nil
	}
	tag, err := c.Conn().Exec(t.ctx, statement)
	if err != nil {
		// Never hand the pool a connection left inside a transaction.
		if statement == "rollback" || c.inTx() {
			_ = c.Conn().Close(context.Background())
		}
		return err
	}
	if statement == "commit" && tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// prefixed is the message of a statement with what must go before it (the
// transaction's BEGIN not sent yet, or outside a transaction the settings)
// and the number of results that puts before the statement's; "" when
// nothing goes before it.
func (c *settingsConn) prefixed(ctx context.Context, query string, args []driver.NamedValue) (string, int, error) {
	prefix, results := c.begin, 2
	if prefix == "" {
		if c.inTx() {
			return "", 0, nil
		}
		prefix, results = c.settings.sql(c.account), 1
		if prefix == "" {
			return "", 0, nil
		}
	}
	if len(args) > 0 {
		// Bun writes its values into the text; a statement with separate
		// arguments would need them quoted here, which nothing asks for.
		if c.begin != "" {
			// In a transaction its BEGIN goes first, alone.
			return "", 0, c.sendBegin(ctx)
		}
		return "", 0, errors.New("db: a statement on the API's pool outside a transaction must carry its values in its text")
	}
	c.begin = ""
	return prefix + "; " + query, results, nil
}

// sendBegin sends the transaction's BEGIN on its own.
func (c *settingsConn) sendBegin(ctx context.Context) error {
	begin := c.begin
	c.begin = ""
	if _, err := c.Conn().PgConn().Exec(ctx, begin).ReadAll(); err != nil {
		return err
	}
	return nil
}

// retryable is err as database/sql expects it: ErrBadConn when nothing was
// sent, so it retries on another connection.
func retryable(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

// message is the connection to send a prefixed statement on and the number
// of results before the statement's, or nil when the statement needs no
// prefix (then pgx's own path serves it).
func (c *settingsConn) message(ctx context.Context, query string, args []driver.NamedValue) (*pgconn.PgConn, string, int, error) {
	pc := c.Conn().PgConn()
	if pc.IsClosed() {
		return nil, "", 0, driver.ErrBadConn
	}
	msg, results, err := c.prefixed(ctx, query, args)
	if err != nil || msg == "" {
		return nil, "", 0, err
	}
	return pc, msg, results, nil
}

// failed is err of a statement inside a transaction or outside one:
// database/sql retries a statement outside one on another connection when
// nothing was sent; inside one, it cannot.
func (c *settingsConn) failed(err error, results int) error {
	if results == 1 {
		return retryable(err)
	}
	return err
}

func (c *settingsConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	pc, msg, results, err := c.message(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if pc == nil {
		return c.pgxConn.ExecContext(ctx, query, args)
	}
	all, err := pc.Exec(ctx, msg).ReadAll()
	if err != nil {
		return nil, c.failed(err, results)
	}
	return driver.RowsAffected(all[len(all)-1].CommandTag.RowsAffected()), nil
}

func (c *settingsConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	pc, msg, results, err := c.message(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if pc == nil {
		return c.pgxConn.QueryContext(ctx, query, args)
	}
	mrr := pc.Exec(ctx, msg)
	fail := func() (driver.Rows, error) {
		err := mrr.Close()
		if err == nil {
			err = errors.New("db: a statement gave no result")
		}
		return nil, c.failed(err, results)
	}
	// What went before (BEGIN, the settings), then the statement.
	for range results {
		if !mrr.NextResult() {
			return fail()
		}
		if _, err := mrr.ResultReader().Close(); err != nil {
			return fail()
		}
	}
	if !mrr.NextResult() {
		return fail()
	}
	r := &settingsRows{mrr: mrr, rr: mrr.ResultReader()}
	r.init(c.Conn().TypeMap())
	// As pgx's own rows do: the first row now, so that a failing statement
	// fails its query rather than its first Next.
	if r.more = r.rr.NextRow(); !r.more {
		if _, err := r.rr.Close(); err != nil {
			_ = mrr.Close()
			return nil, err
		}
	}
	r.preloaded = true
	return r, nil
}

// settingsRows are the rows of a statement sent after its settings: the
// values as pgx's database/sql rows give them (stdlib's conversions, which
// Bun's scanners expect), read from the statement's result.
type settingsRows struct {
	mrr       *pgconn.MultiResultReader
	rr        *pgconn.ResultReader
	columns   []string
	convert   []func([]byte) (driver.Value, error)
	more      bool
	preloaded bool
	closed    bool
}

func (r *settingsRows) init(m *pgtype.Map) {
	fields := r.rr.FieldDescriptions()
	r.columns = make([]string, len(fields))
	r.convert = make([]func([]byte) (driver.Value, error), len(fields))
	for i, fd := range fields {
		r.columns[i] = fd.Name
		r.convert[i] = converter(m, fd.DataTypeOID, fd.Format)
	}
}

// converter turns a column's raw value into what pgx's database/sql driver
// gives for its type.
func converter(m *pgtype.Map, oid uint32, format int16) func([]byte) (driver.Value, error) {
	switch oid {
	case pgtype.BoolOID:
		return scanAs[bool](m, oid, format, func(v bool) (driver.Value, error) { return v, nil })
	case pgtype.ByteaOID, pgtype.JSONOID, pgtype.JSONBOID, pgtype.XMLOID:
		return scanAs[[]byte](m, oid, format, func(v []byte) (driver.Value, error) { return v, nil })
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return scanAs[int64](m, oid, format, func(v int64) (driver.Value, error) { return v, nil })
	case pgtype.Float4OID, pgtype.Float8OID:
		return scanAs[float64](m, oid, format, func(v float64) (driver.Value, error) { return v, nil })
	case pgtype.CIDOID, pgtype.OIDOID, pgtype.XIDOID:
		return scanAs[pgtype.Uint32](m, oid, format, pgtype.Uint32.Value)
	case pgtype.DateOID:
		return scanAs[pgtype.Date](m, oid, format, pgtype.Date.Value)
	case pgtype.TimestampOID:
		return scanAs[pgtype.Timestamp](m, oid, format, pgtype.Timestamp.Value)
	case pgtype.TimestamptzOID:
		return scanAs[pgtype.Timestamptz](m, oid, format, pgtype.Timestamptz.Value)
	}
	return scanAs[string](m, oid, format, func(v string) (driver.Value, error) { return v, nil })
}

func scanAs[T any](m *pgtype.Map, oid uint32, format int16, value func(T) (driver.Value, error)) func([]byte) (driver.Value, error) {
	var d T
	plan := m.PlanScan(oid, format, &d)
	return func(src []byte) (driver.Value, error) {
		if err := plan.Scan(src, &d); err != nil {
			return nil, err
		}
		return value(d)
	}
}

func (r *settingsRows) Columns() []string { return r.columns }

func (r *settingsRows) Next(dest []driver.Value) error {
	if r.preloaded {
		r.preloaded = false
	} else if r.more {
		r.more = r.rr.NextRow()
	}
	if !r.more {
		if _, err := r.rr.Close(); err != nil {
			return err
		}
		return io.EOF
	}
	for i, raw := range r.rr.Values() {
		if raw == nil {
			dest[i] = nil
			continue
		}
		v, err := r.convert[i](raw)
		if err != nil {
			return fmt.Errorf("convert field %d failed: %w", i, err)
		}
		dest[i] = v
	}
	return nil
}

func (r *settingsRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	_, err := r.rr.Close()
	if merr := r.mrr.Close(); err == nil {
		err = merr
	}
	return err
}
