package migrations

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"crm/platform/db"
	"crm/platform/dbtest"

	"github.com/uptrace/bun"
)

// Where each table goes on a database distributed by account_id (Citus,
// docs/operations.md). A table with an account_id column is distributed by
// it, all of them colocated, unless named here; a table without one must be
// named here. The rules below hold for the distributed ones.
var (
	// Reference tables: one copy on every node. They may reference each
	// other; distributed tables may reference them; they reference no
	// distributed table.
	referenceTables = map[string]string{
		"accounts": "the tenants themselves, referenced by every distributed table",
		// Its unique email has no account_id: login is by email across
		// accounts (CONTRACT.md, employees), found before any account is known.
		"employees": "a few rows per account, and email unique across all accounts: login finds the account by it",
		// Its unique path_token has no account_id: the Stripe webhook's URL
		// names the account by the token alone.
		"stripe_settings": "one row per account, found by the path token of the Stripe webhook before its account is known",
	}
	// Local tables: on the coordinator only, used by the owner outside any
	// account; they reference no distributed table.
	localTables = map[string]string{
		"login_failures":          "the login throttle, by email and address, before any account is known",
		"audit_events_no_account": "failed logins with an email that is nobody's: no account to distribute them by",
		"bun_migrations":          "the migrator's",
		"bun_migration_locks":     "the migrator's",
	}
)

// citusProblems lists every rule of a distributed schema that tables break:
// a distributed table's account_id is NOT NULL, its primary key and each of
// its unique indexes include account_id, and each of its foreign keys to
// another distributed table pairs account_id with the parent's account_id.
// SQLite's rowid primary key (id INTEGER PRIMARY KEY, the id generator)
// cannot take a second column: there, UNIQUE (account_id, id) beside it
// counts as the key. The lists above must name existing tables.
func citusProblems(tables map[string]*dbtest.Table) []string {
	var out []string
	add := func(t *dbtest.Table, format string, args ...any) {
		out = append(out, t.Name+": "+fmt.Sprintf(format, args...))
	}
	placement := func(name string) string {
		switch {
		case referenceTables[name] != "":
			return "reference"
		case localTables[name] != "":
			return "local"
		}
		return "distributed"
	}
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := tables[n]
		notNull, hasAccount := t.NotNull["account_id"]
		kind := placement(n)
		switch {
		case kind == "local" && hasAccount:
			add(t, "has account_id but is listed as a local table: distribute it by account_id")
		case kind == "distributed" && !hasAccount:
			add(t, "has no account_id: add it and distribute the table by it, or list it as a reference or local table with the reason")
			continue
		}
		for _, fk := range t.Foreign {
			parent := placement(fk.Parent)
			switch {
			case kind != "distributed" && parent == "distributed":
				add(t, "%s table with %s: a %s table cannot reference a distributed table", kind, fk, kind)
			case kind == "distributed" && parent == "local":
				add(t, "%s: a distributed table cannot reference a local table", fk)
			case kind == "distributed" && parent == "distributed" && !pairsAccount(fk):
				add(t, "%s does not pair account_id with %s.account_id", fk, fk.Parent)
			}
		}
		if kind != "distributed" {
			continue
		}
		if !notNull {
			add(t, "account_id may be NULL: a distributed table refuses a row without its distribution column")
		}
		switch {
		case len(t.Primary) == 0:
			add(t, "no primary key: give it one that includes account_id")
		case slices.Contains(t.Primary, "account_id"):
		case t.RowID && hasKey(t, "account_id", t.Primary[0]):
		default:
			add(t, "primary key (%s) lacks account_id", strings.Join(t.Primary, ", "))
		}
		for _, u := range t.Uniques {
			if !slices.Contains(u.Columns, "account_id") {
				add(t, "unique index %s lacks account_id", u)
			}
		}
	}
	for _, list := range []map[string]string{referenceTables, localTables} {
		for n := range list {
			if tables[n] == nil {
				out = append(out, n+": listed as a reference or local table, but there is no such table")
			}
		}
	}
	return out
}

func pairsAccount(fk dbtest.ForeignKey) bool {
	for i, c := range fk.Columns {
		if c == "account_id" && i < len(fk.ParentColumns) && fk.ParentColumns[i] == "account_id" {
			return true
		}
	}
	return false
}

// hasKey tells whether t has a unique index on exactly these columns.
func hasKey(t *dbtest.Table, cols ...string) bool {
	for _, u := range t.Uniques {
		if len(u.Columns) == len(cols) && !slices.ContainsFunc(cols, func(c string) bool { return !slices.Contains(u.Columns, c) }) {
			return true
		}
	}
	return false
}

// migrated opens a fresh database with every migration applied.
func migrated(t *testing.T) *bun.DB {
	t.Helper()
	d, err := db.Open(dbtest.URL(t), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	migrateUpTo(t, d, "")
	return d
}

// migrateUpTo applies the migrations named before last ("": all of them).
func migrateUpTo(t *testing.T, d *bun.DB, last string) {
	t.Helper()
	var sets []db.Migrations
	err := fs.WalkDir(files, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		module, name := strings.Split(p, "/")[0], path.Base(p)
		if last != "" && name >= last {
			return nil
		}
		if len(sets) == 0 || sets[len(sets)-1].Module != module {
			sets = append(sets, db.Migrations{Module: module, FS: fstest.MapFS{}})
		}
		b, err := fs.ReadFile(files, p)
		sets[len(sets)-1].FS.(fstest.MapFS)[strings.TrimPrefix(p, module+"/")] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background(), d, sets, nil); err != nil {
		t.Fatal(err)
	}
}

// bodies returns the SQL the database runs by itself: the SQL and PL/pgSQL
// functions of the schema (PostgreSQL: the triggers' and the SECURITY
// DEFINER ones), the triggers (SQLite), by name.
func bodies(t *testing.T, d bun.IDB) map[string]string {
	t.Helper()
	var rows []struct{ Name, Body string }
	q := `SELECT name, sql AS body FROM sqlite_master WHERE type = 'trigger'`
	if db.DialectOf(d) == db.Postgres {
		q = `SELECT p.proname AS name, p.prosrc AS body FROM pg_proc p
			JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
			WHERE n.nspname = current_schema() AND l.lanname IN ('sql', 'plpgsql')`
	}
	if err := d.NewRaw(q).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Name] = r.Body
	}
	return out
}

func joinProblems(t *testing.T, d bun.IDB) []string {
	t.Helper()
	tenant, err := dbtest.TenantTables(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for name, body := range bodies(t, d) {
		if p := dbtest.JoinProblem(body, func(table string) bool { return tenant[table] }); p != "" {
			out = append(out, name+": "+p)
		}
	}
	sort.Strings(out)
	return out
}

// The migrated schema can be distributed by account_id: every table has its
// place, and the distributed ones keep the rules of citusProblems. The SQL
// the database runs by itself (functions, triggers) ties every pair of
// tenant tables it joins by account_id; the SQL of the API is checked as
// it runs, by every test through platform/apptest (dbtest.CheckJoins).
func TestSchemaIsCitusReady(t *testing.T) {
	d := migrated(t)
	tables, err := dbtest.Schema(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range citusProblems(tables) {
		t.Error(p)
	}
	for _, p := range joinProblems(t, d) {
		t.Error(p)
	}
}

// The rules catch what they forbid, on the real schema plus tables and SQL
// that break each of them, naming the table and the constraint.
func TestCitusRulesCatchWhatTheyForbid(t *testing.T) {
	d := migrated(t)
	ctx := context.Background()
	probes := []string{
		`CREATE TABLE citus_probe_parent (
			code       TEXT PRIMARY KEY,
			account_id BIGINT NOT NULL REFERENCES accounts (id),
			email      TEXT NOT NULL,
			UNIQUE (account_id, code)
		)`,
		`CREATE UNIQUE INDEX citus_probe_parent_email ON citus_probe_parent (email)`,
		`CREATE TABLE citus_probe_child (
			account_id  BIGINT,
			parent_code TEXT REFERENCES citus_probe_parent (code),
			n           INTEGER NOT NULL
		)`,
		`CREATE TABLE citus_probe_loose (code TEXT REFERENCES citus_probe_parent (code))`,
	}
	if db.DialectOf(d) == db.Postgres {
		probes = append(probes, `CREATE FUNCTION citus_probe_join() RETURNS bigint LANGUAGE sql AS
			$$ SELECT count(*) FROM clients c JOIN payments p ON p.client_id = c.id WHERE c.account_id = 1 $$`)
	} else {
		probes = append(probes, `CREATE TRIGGER citus_probe_join AFTER INSERT ON citus_probe_loose BEGIN
			DELETE FROM clients WHERE id IN (SELECT client_id FROM payments WHERE account_id = 1); END`)
	}
	for _, q := range probes {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	tables, err := dbtest.Schema(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	got := append(citusProblems(tables), joinProblems(t, d)...)
	want := [][]string{
		{"citus_probe_parent: primary key (code) lacks account_id"},
		{"citus_probe_parent: unique index citus_probe_parent_email (email) lacks account_id"},
		{"citus_probe_child: account_id may be NULL"},
		{"citus_probe_child: no primary key"},
		{"citus_probe_child: ", "(parent_code) REFERENCES citus_probe_parent (code) does not pair account_id"},
		{"citus_probe_loose: has no account_id"},
		{"citus_probe_join: ", "clients AS ", "payments AS "},
	}
	for _, w := range want {
		found := slices.ContainsFunc(got, func(p string) bool {
			return !slices.ContainsFunc(w, func(part string) bool { return !strings.Contains(p, part) })
		})
		if !found {
			t.Errorf("no problem reads %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d (the probes' only):\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

// The migrations that key the tables by account (20261210…) keep a
// database's rows and rules: on a database with rows of every kind, among
// them a failed login of no account, every row is still there afterwards,
// that event in audit_events_no_account; ids keep counting up; the foreign
// keys still refuse a client of another account, still stop deleting a
// client with billing rows, and still cascade from an employee to its
// sessions and from an endpoint to its deliveries.
func TestCitusKeysKeepTheRows(t *testing.T) {
	d, err := db.Open(dbtest.URL(t), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx := context.Background()
	exec := func(q string) error {
		_, err := d.ExecContext(ctx, q)
		return err
	}
	must := func(q string) {
		t.Helper()
		if err := exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := d.NewRaw(q).Scan(ctx, &n); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		return n
	}
	migrateUpTo(t, d, "20261210000000")
	const at = "'2026-01-01 00:00:00'"
	for _, q := range []string{
		`INSERT INTO accounts (id, name, created_at, updated_at) VALUES (1, 'Acme', ` + at + `, ` + at + `), (2, 'Globex', ` + at + `, ` + at + `)`,
		`INSERT INTO employees (id, account_id, email, name, role, password_hash, date_joined) VALUES
			(1, 1, 'ann@acme.example.com', 'Ann', 'super_admin', 'x', ` + at + `), (2, 2, 'bob@globex.example.com', 'Bob', 'super_admin', 'x', ` + at + `)`,
		`INSERT INTO sessions (id, account_id, employee_id, created_at, expires_at) VALUES ('s1', 1, 1, ` + at + `, ` + at + `), ('s2', 2, 2, ` + at + `, ` + at + `)`,
		`INSERT INTO clients (id, account_id, first_name, last_name, email, coach_id, created_at, updated_at) VALUES
			(1, 1, 'Cy', 'Lee', 'cy@example.com', 1, ` + at + `, ` + at + `), (2, 2, 'Di', 'Lee', 'di@example.com', NULL, ` + at + `, ` + at + `)`,
		`INSERT INTO packages (id, account_id, package_name, created_at, updated_at) VALUES (1, 1, 'Gold', ` + at + `, ` + at + `)`,
		`INSERT INTO client_packages (id, account_id, client_id, package_id, custom_price_cents, payment_schedule, start_date, created_at, updated_at)
			VALUES (1, 1, 1, 1, 1000, 'PIF', '2026-01-01', ` + at + `, ` + at + `)`,
		`INSERT INTO payments (id, account_id, client_id, amount_cents, currency, status, payment_date, created_at, updated_at)
			VALUES (1, 1, 1, 1000, 'USD', 'paid', '2026-01-01', ` + at + `, ` + at + `)`,
		`INSERT INTO instalments (id, account_id, client_id, client_package_id, amount_cents, currency, schedule_date, status, instalment_number, created_at, updated_at)
			VALUES (1, 1, 1, 1, 500, 'USD', '2026-01-01', 'open', 1, ` + at + `, ` + at + `)`,
		`INSERT INTO stripe_customers (id, account_id, client_id, stripe_customer_id, created_at, updated_at) VALUES (1, 1, 1, 'cus_1', ` + at + `, ` + at + `)`,
		`INSERT INTO webhook_endpoints (id, account_id, url, secret, created_at, updated_at) VALUES (1, 1, 'https://example.com/h', 'k', ` + at + `, ` + at + `)`,
		`INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, payload, next_attempt_at, give_up_at, created_at)
			VALUES (1, 1, 'evt_1', 'client.created', '{}', ` + at + `, ` + at + `, ` + at + `), (1, 1, 'evt_2', 'client.created', '{}', ` + at + `, ` + at + `, ` + at + `)`,
		`INSERT INTO audit_events (account_id, actor_id, action, object_type, object_id, changes, at) VALUES
			(1, 1, 'create', 'client', 1, '{}', ` + at + `),
			(NULL, NULL, 'login_failed', 'employee', NULL, '{"email": {"old": null, "new": "nobody@example.com"}}', ` + at + `),
			(2, 2, 'create', 'client', 2, '{}', ` + at + `)`,
	} {
		must(q)
	}
	lastDelivery := count(`SELECT max(id) FROM webhook_deliveries`)
	lastEvent := count(`SELECT max(id) FROM audit_events`)
	migrateUpTo(t, d, "")

	for table, want := range map[string]int{"accounts": 2, "employees": 2, "sessions": 2, "clients": 2, "packages": 1,
		"client_packages": 1, "payments": 1, "instalments": 1, "stripe_customers": 1, "webhook_endpoints": 1,
		"webhook_deliveries": 2, "audit_events": 2, "audit_events_no_account": 1} {
		if n := count(`SELECT count(*) FROM ` + table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	if n := count(`SELECT count(*) FROM audit_events_no_account WHERE action = 'login_failed' AND CAST(changes AS TEXT) LIKE '%nobody@example.com%'`); n != 1 {
		t.Errorf("the failed login of no account was not moved whole (%d rows)", n)
	}
	must(`INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, payload, next_attempt_at, give_up_at, created_at)
		VALUES (1, 1, 'evt_3', 'client.created', '{}', ` + at + `, ` + at + `, ` + at + `)`)
	must(`INSERT INTO audit_events (account_id, action, object_type, changes, at) VALUES (1, 'update', 'client', '{}', ` + at + `)`)
	if n := count(`SELECT max(id) FROM webhook_deliveries`); n <= lastDelivery {
		t.Errorf("a new delivery took id %d, not after %d", n, lastDelivery)
	}
	if n := count(`SELECT max(id) FROM audit_events`); n <= lastEvent {
		t.Errorf("a new event took id %d, not after %d", n, lastEvent)
	}
	refused := map[string]string{
		"a payment of another account's client": `INSERT INTO payments (account_id, client_id, amount_cents, currency, status, payment_date, created_at, updated_at)
			VALUES (1, 2, 1, 'USD', 'paid', '2026-01-01', ` + at + `, ` + at + `)`,
		"a coach of another account":          `UPDATE clients SET coach_id = 2 WHERE id = 1`,
		"deleting a client with billing rows": `DELETE FROM clients WHERE id = 1`,
		"deleting a package in use":           `DELETE FROM packages WHERE id = 1`,
		"a delivery to another account's endpoint": `INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, payload, next_attempt_at, give_up_at, created_at)
			VALUES (2, 1, 'evt_9', 'client.created', '{}', ` + at + `, ` + at + `, ` + at + `)`,
		"a delivery twice": `INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, payload, next_attempt_at, give_up_at, created_at)
			VALUES (1, 1, 'evt_1', 'client.created', '{}', ` + at + `, ` + at + `, ` + at + `)`,
		"an event of no account": `INSERT INTO audit_events (account_id, action, object_type, changes, at) VALUES (NULL, 'x', 'client', '{}', ` + at + `)`,
		"changing an event":      `UPDATE audit_events SET action = 'forged'`,
		"changing a moved event": `UPDATE audit_events_no_account SET action = 'forged'`,
	}
	for what, q := range refused {
		if err := exec(q); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	must(`DELETE FROM employees WHERE id = 2`)
	if n := count(`SELECT count(*) FROM sessions WHERE employee_id = 2`); n != 0 {
		t.Errorf("deleting an employee left %d sessions", n)
	}
	must(`DELETE FROM webhook_endpoints WHERE id = 1`)
	if n := count(`SELECT count(*) FROM webhook_deliveries`); n != 0 {
		t.Errorf("deleting an endpoint left %d deliveries", n)
	}
}
