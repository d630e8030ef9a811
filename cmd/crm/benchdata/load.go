package benchdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"crm/platform/db"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// clientBatch is how many clients (with their package, payments and
// instalments) are built and written at a time, so memory stays bounded
// whatever --clients is.
const clientBatch = 5000

// Report is what a load did.
type Report struct {
	Params  Params
	Rows    map[string]int64 // written, by table
	Wiped   map[string]int64 // deleted, by table
	Kept    []string         // tables whose rows of the old dataset stay (append-only)
	Removed int              // old accounts deleted
	Retired []string         // old accounts renamed instead (see wipe)
	Load    time.Duration    // the transaction
	Analyze time.Duration    // planner statistics (PostgreSQL)
}

// Load wipes an earlier bench dataset and writes the one of p, in one
// transaction, then refreshes the planner statistics on PostgreSQL. Every
// login gets passwordHash (the app's hash of Password, computed once).
func Load(ctx context.Context, d *bun.DB, passwordHash string, p Params, progress io.Writer) (*Report, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	rep := &Report{Params: p, Rows: map[string]int64{}}
	at := time.Now().UTC().Truncate(time.Microsecond)
	start := time.Now()
	body := func(ctx context.Context, w writer) error {
		wp, err := wipe(ctx, w, p, at)
		if err != nil {
			return err
		}
		rep.Wiped, rep.Kept, rep.Removed, rep.Retired = wp.Deleted, wp.Kept, wp.Removed, wp.Retired
		fmt.Fprintf(progress, "wiped the earlier bench dataset: %d accounts deleted, %d retired (%s)\n", wp.Removed, len(wp.Retired), since(start))
		// After the wipe, which runs with every trigger and check on.
		if pw, ok := w.(pgWriter); ok {
			on, err := skipForeignKeyChecks(ctx, pw)
			if err != nil {
				return err
			}
			if on {
				fmt.Fprintln(progress, "foreign keys of the new rows are not re-checked row by row: the loader references only rows it has just written")
			}
		}
		l := &loader{w: w, p: p, at: at, hash: passwordHash, rows: rep.Rows}
		for _, a := range p.Accounts() {
			if err := l.account(ctx, a); err != nil {
				return fmt.Errorf("%s: %w", a.Name, err)
			}
			fmt.Fprintf(progress, "loaded %s: %d clients (%s)\n", a.Name, a.Clients, since(start))
		}
		return nil
	}
	var err error
	if db.DialectOf(d) == db.Postgres {
		err = inPgTx(ctx, d, func(tx pgx.Tx) error { return body(ctx, pgWriter{tx}) })
	} else {
		err = d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return body(ctx, sqliteWriter{tx}) })
	}
	if err != nil {
		return nil, err
	}
	rep.Load = time.Since(start)
	fmt.Fprintf(progress, "committed (%s)\n", since(start))
	if db.DialectOf(d) == db.Postgres {
		t := time.Now()
		// VACUUM also sets the visibility map of the new rows, as autovacuum
		// soon would, so index-only scans see the steady state.
		if _, err := d.ExecContext(ctx, "VACUUM (ANALYZE) "+joinTables(loadedTables(rep.Rows))); err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		rep.Analyze = time.Since(t)
		fmt.Fprintf(progress, "vacuum analyze (%s)\n", rep.Analyze.Round(time.Millisecond))
	}
	return rep, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

// inPgTx runs fn in a transaction on one pgx connection of the pool, so the
// bulk writes can use COPY.
func inPgTx(ctx context.Context, d *bun.DB, fn func(pgx.Tx) error) error {
	conn, err := d.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("benchdata: the PostgreSQL driver is not pgx")
		}
		return pgx.BeginFunc(ctx, sc.Conn(), fn)
	})
}

// skipForeignKeyChecks turns off, for this transaction only, the row by row
// foreign key checks of PostgreSQL (session_replication_role = replica, as
// pg_restore --disable-triggers does), which cost more than the writes.
// The loader only references rows it created itself, in the same
// transaction. It is done only when no table of the dataset has a trigger
// of its own (a trigger keeping a counter must keep firing), and only when
// the role may (a superuser); otherwise the checks stay on.
func skipForeignKeyChecks(ctx context.Context, w pgWriter) (bool, error) {
	n, err := w.int64s(ctx, `SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE NOT t.tgisinternal AND s.nspname = current_schema() AND c.relname = ANY(?)`, datasetTables)
	if err != nil {
		return false, err
	}
	if n[0] > 0 {
		return false, nil
	}
	super, err := w.texts(ctx, `SELECT current_setting('is_superuser')`)
	if err != nil || super[0][0] != "on" {
		return false, err
	}
	_, err = w.exec(ctx, `SET LOCAL session_replication_role = replica`)
	return err == nil, err
}

// datasetTables are the tables the loader writes, in order.
var datasetTables = []string{"accounts", "employees", "packages", "clients", "client_packages", "payments", "instalments"}

func loadedTables(rows map[string]int64) []string {
	var out []string
	for _, t := range datasetTables {
		if _, ok := rows[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

func joinTables(ts []string) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += `"` + t + `"`
	}
	return s
}

// loader writes the accounts one after the other.
type loader struct {
	w    writer
	p    Params
	at   time.Time // the load time: created_at of row i is at + i µs
	hash string
	rows map[string]int64
}

func (l *loader) insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if err := l.w.insert(ctx, table, cols, rows); err != nil {
		return err
	}
	l.rows[table] += int64(len(rows))
	return nil
}

func (l *loader) micro(i int) time.Time { return l.at.Add(time.Duration(i) * time.Microsecond) }

func (l *loader) account(ctx context.Context, a Account) error {
	ids, err := l.w.reserveIDs(ctx, "accounts", 1)
	if err != nil {
		return err
	}
	accountID := ids[0]
	if err := l.insert(ctx, "accounts", []string{"id", "name", "created_at", "updated_at"},
		[][]any{{accountID, a.Name, l.at, l.at}}); err != nil {
		return err
	}

	// Employees: the super_admin, then 1..count; the team is those with
	// role employee, in n order.
	empIDs, err := l.w.reserveIDs(ctx, "employees", a.Employees+1)
	if err != nil {
		return err
	}
	var rows [][]any
	var team []int64
	for n := 0; n <= a.Employees; n++ {
		e := a.EmployeeAt(n)
		rows = append(rows, []any{empIDs[n], accountID, e.Email, e.Name, e.Role, e.JobRole, e.PhoneNumber,
			true, "[]", l.hash, l.micro(n)})
		if e.Role == "employee" {
			team = append(team, empIDs[n])
		}
	}
	if err := l.insert(ctx, "employees", []string{"id", "account_id", "email", "name", "role", "job_role", "phone_number",
		"is_active", "permissions", "password_hash", "date_joined"}, rows); err != nil {
		return err
	}

	for start := 0; start < a.Clients; start += clientBatch {
		if err := l.clients(ctx, a, accountID, team, start, min(start+clientBatch, a.Clients)); err != nil {
			return err
		}
	}
	return nil
}

// clients writes clients [from, to) of the account.
func (l *loader) clients(ctx context.Context, a Account, accountID int64, team []int64, from, to int) error {
	ids, err := l.w.reserveIDs(ctx, "clients", to-from)
	if err != nil {
		return err
	}
	rows := make([][]any, 0, to-from)
	for i := from; i < to; i++ {
		c := l.p.ClientAt(a, i)
		created := l.micro(i)
		rows = append(rows, []any{ids[i-from], accountID, c.FirstName, c.LastName, c.Email, c.Phone, c.Status,
			team[c.Coach], team[c.Closer], team[c.Setter], c.Country, c.Currency, c.Notes, created, created})
	}
	return l.insert(ctx, "clients", []string{"id", "account_id", "first_name", "last_name", "email", "phone", "status",
		"coach_id", "closer_id", "setter_id", "country", "currency", "notes", "created_at", "updated_at"}, rows)
}
