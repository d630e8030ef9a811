package db_test

import (
	"context"
	"strconv"
	"testing"

	"crm/migrations"
	"crm/platform/db"
	"crm/platform/dbtest"

	"github.com/uptrace/bun"
)

// TestOnePooledServerConnection runs the API's two pools through a
// transaction pooler (PgBouncer) that has ONE server connection: every
// transaction and statement of both pools, of every account, runs on the
// same PostgreSQL session, one after another. Each still runs with its own
// role and account and leaves nothing to the next: a request sees its
// account's rows only, as crm_app; the app pool outside a request sees
// nothing; an owner statement runs as the owner, never as crm_app; a
// setting another client left on the session is not inherited.
func TestOnePooledServerConnection(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("a PostgreSQL pooler (set CRM_TEST_POSTGRES_URL)")
	}
	ctx := context.Background()
	pooled := dbtest.Pooler(t, dbtest.URL(t), "transaction", 1)
	owner, err := db.Open(pooled, db.Options{MaxOpenConns: 2, Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if err := db.Migrate(ctx, owner, []db.Migrations{{Module: "rls", FS: migrations.For("rls")}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL, body text NOT NULL)",
		"CREATE TABLE owner_only (n int)", // no account: crm_app gets no privilege on it
		"SELECT crm_enable_rls()",
	} {
		if _, err := owner.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	var ownerRole string
	if err := owner.QueryRowContext(ctx, "SELECT current_user").Scan(&ownerRole); err != nil {
		t.Fatal(err)
	}
	app, err := db.Open(pooled, db.Options{MaxOpenConns: 2, Role: "crm_app", RandomPageCost: 1.1})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()

	pids := map[int]bool{}
	type seen struct {
		User, Account, Cost string
		Pid                 int
		Bodies              string
	}
	look := func(q bun.IDB, ctx context.Context) seen {
		t.Helper()
		var s seen
		err := q.NewRaw(`SELECT current_user AS "user", coalesce(current_setting('app.account_id', true), '') AS account,
			current_setting('random_page_cost') AS cost, pg_backend_pid() AS pid,
			coalesce((SELECT string_agg(body, ',' ORDER BY id) FROM notes), '') AS bodies`).Scan(ctx, &s)
		if err != nil {
			t.Fatal(err)
		}
		pids[s.Pid] = true
		return s
	}
	// request runs fn as a request of the account (read: a GET) and ends it.
	request := func(account int64, read, fails bool, fn func(ctx context.Context, q bun.IDB)) {
		t.Helper()
		rctx := db.BeginRequest(ctx, app, account, read)
		fn(rctx, db.Use(rctx, app))
		if err := db.EndRequest(rctx, fails); err != nil {
			t.Fatal(err)
		}
	}
	insert := func(account int64, body string, fails bool) {
		t.Helper()
		request(account, false, fails, func(rctx context.Context, q bun.IDB) {
			if _, err := q.NewRaw("INSERT INTO notes (account_id, body) VALUES (?, ?)", account, body).Exec(rctx); err != nil {
				t.Fatal(err)
			}
			if s := look(q, rctx); s.User != "crm_app" || s.Account != itoa(account) {
				t.Fatalf("writer of account %d runs as %+v", account, s)
			}
		})
	}
	read := func(account int64, want string) {
		t.Helper()
		request(account, true, false, func(rctx context.Context, q bun.IDB) {
			if s := look(q, rctx); s.User != "crm_app" || s.Account != itoa(account) || s.Cost != "1.1" || s.Bodies != want {
				t.Fatalf("reader of account %d sees %+v, want crm_app, its account, cost 1.1 and %q", account, s, want)
			}
		})
	}
	ownerSees := func(want string) {
		t.Helper()
		if s := look(owner, ctx); s.User != ownerRole || s.Account != "" || s.Bodies != want {
			t.Fatalf("owner statement runs as %+v, want %s and every row %q", s, ownerRole, want)
		}
		// crm_app may not read this table: only the owner can.
		if _, err := owner.ExecContext(ctx, "DELETE FROM owner_only"); err != nil {
			t.Fatalf("owner statement after requests: %v", err)
		}
	}
	outside := func() {
		t.Helper()
		if s := look(app, ctx); s.User != "crm_app" || s.Account != "" || s.Bodies != "" {
			t.Fatalf("the app pool outside a request runs as %+v, want crm_app, no account, no rows", s)
		}
	}

	insert(1, "a1", false)
	ownerSees("a1")
	insert(2, "b1", false)
	insert(2, "rolled back", true)
	read(1, "a1")
	ownerSees("a1,b1")
	read(2, "b1")
	outside()
	insert(1, "a2", false)
	read(2, "b1")
	ownerSees("a1,b1,a2")

	// Another client of the pooler leaves session settings behind (as the
	// API did before it set everything per transaction): nothing of ours
	// inherits them.
	if _, err := owner.ExecContext(ctx, "SELECT set_config('app.account_id', '1', false)"); err != nil {
		t.Fatal(err)
	}
	read(2, "b1")
	outside()
	request(2, false, false, func(rctx context.Context, q bun.IDB) {
		res, err := q.NewRaw("UPDATE notes SET body = body || '!'").Exec(rctx)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("an unscoped UPDATE of account 2 changed %d rows, want its 1", n)
		}
	})
	read(1, "a1,a2")
	if _, err := owner.ExecContext(ctx, "RESET app.account_id"); err != nil {
		t.Fatal(err)
	}
	ownerSees("a1,b1!,a2")

	if len(pids) != 1 {
		t.Fatalf("the pooler used %d server connections, want 1", len(pids))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
