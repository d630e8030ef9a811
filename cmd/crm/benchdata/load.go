package benchdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"crm/platform/clock"
	"crm/platform/db"

	"github.com/jackc/pgx/v5"
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
	at := clock.Now()
	start := time.Now()
	cpu := func(context.Context, writer) string { return "" }
	body := func(ctx context.Context, w writer) (err error) {
		if pw, ok := w.(pgWriter); ok {
			cpu = backendCPU(ctx, pw)
		}
		wp, err := wipe(ctx, w, p, at)
		if err != nil {
			return err
		}
		rep.Wiped, rep.Kept, rep.Removed, rep.Retired = wp.Deleted, wp.Kept, wp.Removed, wp.Retired
		fmt.Fprintf(progress, "wiped the earlier bench dataset: %d accounts deleted, %d retired (%s%s)\n", wp.Removed, len(wp.Retired), since(start), cpu(ctx, w))
		// After the wipe, which runs with every trigger and check on.
		var checksBack func([]int64) error
		if pw, isPg := w.(pgWriter); isPg {
			if checksBack, err = deferChecks(ctx, pw); err != nil {
				return err
			}
			if checksBack != nil {
				fmt.Fprintln(progress, "foreign keys are validated once after the load, counters rebuilt from the rows")
			}
			// Each setting is put back, in the reverse order, before the
			// commit.
			for _, set := range []func(context.Context, pgWriter) (func() error, error){fastTrigramInserts, unforceRLS} {
				restore, serr := set(ctx, pw)
				if serr != nil {
					return serr
				}
				defer func() {
					if e := restore(); e != nil && err == nil {
						err = e
					}
				}()
			}
		}
		l := &loader{w: w, p: p, at: at, hash: passwordHash, rows: rep.Rows,
			progress: func(s string) { fmt.Fprintf(progress, "%s (%s%s)\n", s, since(start), cpu(ctx, w)) }}
		for _, a := range p.Accounts() {
			if err := l.account(ctx, a); err != nil {
				return fmt.Errorf("%s: %w", a.Name, err)
			}
			fmt.Fprintf(progress, "loaded %s: %d clients (%s%s)\n", a.Name, a.Clients, since(start), cpu(ctx, w))
		}
		if checksBack != nil {
			if err := checksBack(l.accounts); err != nil {
				return err
			}
			fmt.Fprintf(progress, "foreign keys validated, counters rebuilt (%s%s)\n", since(start), cpu(ctx, w))
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
		if err := analyze(ctx, d, rep, progress); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// analyze refreshes the planner statistics of the loaded tables
// (PostgreSQL). VACUUM also sets the visibility map of the new rows, as
// autovacuum soon would, so index-only scans see the steady state.
func analyze(ctx context.Context, d *bun.DB, rep *Report, progress io.Writer) error {
	t := time.Now()
	if _, err := d.ExecContext(ctx, "VACUUM (ANALYZE) "+joinTables(loadedTables(rep.Rows))); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	rep.Analyze = time.Since(t)
	fmt.Fprintf(progress, "vacuum analyze (%s)\n", rep.Analyze.Round(time.Millisecond))
	return nil
}

// fastTrigramInserts gives the search's trigram index a large pending list
// for the load: it keeps a small one for the API's writes
// (migrations/clients), and a bulk load inserts faster through a large one
// (docs/benchmarks.md), flushed by the VACUUM after the commit. restore
// puts the index's own settings back, before the commit.
func fastTrigramInserts(ctx context.Context, pw pgWriter) (restore func() error, err error) {
	var saved string
	if err := pw.tx.QueryRow(ctx, `SELECT coalesce(array_to_string(reloptions, ', '), '') FROM pg_class WHERE oid = 'clients_search_trgm'::regclass`).Scan(&saved); err != nil {
		return nil, err
	}
	if _, err := pw.exec(ctx, `ALTER INDEX clients_search_trgm SET (fastupdate = on, gin_pending_list_limit = 4096)`); err != nil {
		return nil, err
	}
	return func() error {
		restore := []string{`ALTER INDEX clients_search_trgm RESET (fastupdate, gin_pending_list_limit)`}
		if saved != "" {
			restore = append(restore, `ALTER INDEX clients_search_trgm SET (`+saved+`)`)
		}
		var err error
		for _, q := range restore {
			if _, e := pw.exec(ctx, q); e != nil && err == nil {
				err = e
			}
		}
		return err
	}, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

// backendCPU returns a function telling the CPU time used so far by the
// PostgreSQL backend of the load, when the server runs on this machine
// (its /proc is readable); the wall time of a load says little on a busy
// machine.
func backendCPU(ctx context.Context, w pgWriter) func(context.Context, writer) string {
	pid, err := w.int64s(ctx, "SELECT pg_backend_pid()")
	if err != nil {
		return func(context.Context, writer) string { return "" }
	}
	read := func() (time.Duration, bool) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid[0]))
		if err != nil {
			return 0, false
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			return 0, false
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(u+s) * 10 * time.Millisecond, true // USER_HZ = 100
	}
	if _, ok := read(); !ok {
		return func(context.Context, writer) string { return "" }
	}
	return func(context.Context, writer) string {
		d, _ := read()
		return fmt.Sprintf(", PostgreSQL backend CPU %s", d)
	}
}

// inPgTx runs fn in a transaction on one pgx connection of the pool, so the
// bulk writes can use COPY.
func inPgTx(ctx context.Context, d *bun.DB, fn func(pgx.Tx) error) error {
	conn, err := d.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		// pgx's connection, or platform/db's wrapper around it.
		sc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return errors.New("benchdata: the PostgreSQL driver is not pgx")
		}
		return pgx.BeginFunc(ctx, sc.Conn(), fn)
	})
}

// counters are the trigger functions that keep counters of the dataset's
// tables (migrations/clients, migrations/billing), each with the function
// that rebuilds them from the rows of some accounts.
var counters = map[string]string{
	"clients_count_rows":  "clients_recount",
	"payments_total_rows": "payments_retotal",
}

// deferChecks turns off, for the load, what checks and counts row by row:
// the dataset tables' own foreign keys are dropped (and added back by the
// returned function, which validates every row in one pass per key, as
// pg_restore adds them after the data) and their triggers disabled. It is
// done only when every trigger of those tables keeps a counter that the
// returned function rebuilds for the loaded accounts; otherwise everything
// stays on and it returns nil. All of it is the transaction's: no other
// session sees the tables without their keys. A table's owner may do all of
// it, superuser or not.
func deferChecks(ctx context.Context, w pgWriter) (func(accounts []int64) error, error) {
	fns, err := w.texts(ctx, `SELECT DISTINCT p.proname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace s ON s.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid
		WHERE NOT t.tgisinternal AND s.nspname = current_schema() AND c.relname = ANY(?)
		ORDER BY 1`, datasetTables)
	if err != nil {
		return nil, err
	}
	var rebuild []string
	for _, f := range fns {
		r, ok := counters[f[0]]
		if !ok {
			return nil, nil
		}
		rebuild = append(rebuild, r)
	}
	keys, err := w.texts(ctx, `SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(?)
		ORDER BY 1, 2`, datasetTables)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if _, err := w.exec(ctx, `ALTER TABLE `+k[0]+` DROP CONSTRAINT `+pgx.Identifier{k[1]}.Sanitize()); err != nil {
			return nil, err
		}
	}
	for _, t := range datasetTables {
		if _, err := w.exec(ctx, `ALTER TABLE `+pgx.Identifier{t}.Sanitize()+` DISABLE TRIGGER USER`); err != nil {
			return nil, err
		}
	}
	return func(accounts []int64) error {
		for _, k := range keys {
			if _, err := w.exec(ctx, `ALTER TABLE `+k[0]+` ADD CONSTRAINT `+pgx.Identifier{k[1]}.Sanitize()+` `+k[2]); err != nil {
				return fmt.Errorf("foreign key %s of %s: %w", k[1], k[0], err)
			}
		}
		for _, t := range datasetTables {
			if _, err := w.exec(ctx, `ALTER TABLE `+pgx.Identifier{t}.Sanitize()+` ENABLE TRIGGER USER`); err != nil {
				return err
			}
		}
		for _, fn := range rebuild {
			if _, err := w.exec(ctx, `SELECT `+fn+`(?)`, accounts); err != nil {
				return fmt.Errorf("rebuild counters (%s): %w", fn, err)
			}
		}
		return nil
	}, nil
}

func isSuperuser(ctx context.Context, w pgWriter) (bool, error) {
	v, err := w.texts(ctx, `SELECT current_setting('is_superuser')`)
	if err != nil {
		return false, err
	}
	return v[0][0] == "on", nil
}

// unforceRLS lets the owner's COPY through row-level security for this
// transaction only. PostgreSQL refuses COPY FROM into a table whose policies
// apply to the copying role, and FORCE makes them apply to the owner; a
// superuser is exempt, but a managed database's owner is no superuser. The
// loader writes every account's rows, as the owner may; no other session
// sees the tables without FORCE (the change is the transaction's, and its
// lock keeps them out until the commit, which restore precedes). restore
// puts FORCE back on the tables that had it.
func unforceRLS(ctx context.Context, w pgWriter) (restore func() error, err error) {
	forced, err := w.texts(ctx, `SELECT relname::text FROM pg_class
		WHERE relnamespace = current_schema()::regnamespace AND relname = ANY(?) AND relforcerowsecurity ORDER BY 1`, datasetTables)
	if err != nil {
		return nil, err
	}
	for _, t := range forced {
		if _, err := w.exec(ctx, `ALTER TABLE `+pgx.Identifier{t[0]}.Sanitize()+` NO FORCE ROW LEVEL SECURITY`); err != nil {
			return nil, err
		}
	}
	return func() error {
		for _, t := range forced {
			if _, err := w.exec(ctx, `ALTER TABLE `+pgx.Identifier{t[0]}.Sanitize()+` FORCE ROW LEVEL SECURITY`); err != nil {
				return err
			}
		}
		return nil
	}, nil
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
	// accounts are the ids of the accounts written.
	accounts []int64
	// progress reports a long load's advance.
	progress func(string)
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
	l.accounts = append(l.accounts, accountID)
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

	// Packages, in order.
	pkgIDs, err := l.w.reserveIDs(ctx, "packages", len(Packages))
	if err != nil {
		return err
	}
	rows = rows[:0]
	for i, p := range Packages {
		rows = append(rows, []any{pkgIDs[i], accountID, p.Name, p.Description, l.micro(i), l.micro(i)})
	}
	if err := l.insert(ctx, "packages", []string{"id", "account_id", "package_name", "description", "created_at", "updated_at"}, rows); err != nil {
		return err
	}

	for start := 0; start < a.Clients; start += clientBatch {
		if err := l.clients(ctx, a, accountID, team, pkgIDs, start, min(start+clientBatch, a.Clients)); err != nil {
			return err
		}
		if done := start + clientBatch; done%100_000 == 0 && done < a.Clients {
			l.progress(fmt.Sprintf("%s: %d of %d clients", a.Name, done, a.Clients))
		}
	}
	return nil
}

// date is a calendar date as each database takes it: DATE on PostgreSQL,
// "YYYY-MM-DD" text on SQLite (as platform/field.Date stores it).
func (l *loader) date(t time.Time) any {
	if _, ok := l.w.(pgWriter); ok {
		return t
	}
	return t.Format(time.DateOnly)
}

// clients writes clients [from, to) of the account, each with its client
// package, payments and instalments.
func (l *loader) clients(ctx context.Context, a Account, accountID int64, team, pkgIDs []int64, from, to int) error {
	n := to - from
	ids, err := l.w.reserveIDs(ctx, "clients", n)
	if err != nil {
		return err
	}
	cpIDs, err := l.w.reserveIDs(ctx, "client_packages", n)
	if err != nil {
		return err
	}
	P := l.p.PaymentsPerClient
	clients := make([][]any, 0, n)
	packages := make([][]any, 0, n)
	payments := make([][]any, 0, n*P)
	instalments := make([][]any, 0, n*InstalmentsPerClient)
	for i := from; i < to; i++ {
		c := l.p.ClientAt(a, i)
		id, cpID := ids[i-from], cpIDs[i-from]
		created := l.micro(i)
		clients = append(clients, []any{id, accountID, c.FirstName, c.LastName, c.Email, c.Phone, c.Status,
			team[c.Coach], team[c.Closer], team[c.Setter], c.Country, c.Currency, c.Notes, created, created})
		packages = append(packages, []any{cpID, accountID, id, pkgIDs[c.PackageIndex], c.PriceCents, c.Monthly,
			c.Schedule, l.date(c.StartDate), c.PackageStatus, created, created})
		for j := 0; j < P; j++ {
			p := l.p.PaymentAt(a, c, j)
			at := l.micro(i*P + j)
			payments = append(payments, []any{accountID, id, p.AmountCents, p.Currency, p.Status, l.date(p.Date), p.IntentID, at, at})
		}
		for k := 1; k <= InstalmentsPerClient; k++ {
			in := InstalmentAt(c, k)
			at := l.micro(i*InstalmentsPerClient + k - 1)
			instalments = append(instalments, []any{accountID, id, cpID, in.AmountCents, in.Currency, l.date(in.Date), in.Status, in.Number, at, at})
		}
	}
	if err := l.insert(ctx, "clients", []string{"id", "account_id", "first_name", "last_name", "email", "phone", "status",
		"coach_id", "closer_id", "setter_id", "country", "currency", "notes", "created_at", "updated_at"}, clients); err != nil {
		return err
	}
	if err := l.insert(ctx, "client_packages", []string{"id", "account_id", "client_id", "package_id", "custom_price_cents",
		"monthly_payment_amount_cents", "payment_schedule", "start_date", "status", "created_at", "updated_at"}, packages); err != nil {
		return err
	}
	if err := l.insert(ctx, "payments", []string{"account_id", "client_id", "amount_cents", "currency", "status", "payment_date",
		"stripe_payment_intent_id", "created_at", "updated_at"}, payments); err != nil {
		return err
	}
	return l.insert(ctx, "instalments", []string{"account_id", "client_id", "client_package_id", "amount_cents", "currency",
		"schedule_date", "status", "instalment_number", "created_at", "updated_at"}, instalments)
}
