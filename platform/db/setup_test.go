package db_test

import (
	"context"
	"testing"

	"crm/migrations"
	"crm/platform/db"
	"crm/platform/dbtest"

	"github.com/uptrace/bun"
)

// A pool's role and random_page_cost hold for each of its statements and
// transactions, inside a request or not, and for nothing else: the owner's
// pool sets nothing; 0 keeps the server's cost. (config.Load refuses a
// CRM_DB_RANDOM_PAGE_COST that is not a number: cmd/crm's config test.)
func TestPoolSettings(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("PostgreSQL's settings")
	}
	ctx := context.Background()
	url := dbtest.URL(t)
	owner, err := db.Open(url, db.Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	// crm_app, the role the API serves as.
	if err := db.Migrate(ctx, owner, []db.Migrations{{Module: "rls", FS: migrations.For("rls")}}, nil); err != nil {
		t.Fatal(err)
	}
	var ownerRole, server string
	if err := owner.QueryRowContext(ctx, "SELECT current_user, current_setting('random_page_cost')").Scan(&ownerRole, &server); err != nil {
		t.Fatal(err)
	}
	show := func(q bun.IDB, ctx context.Context) (role, cost string) {
		t.Helper()
		if err := q.NewRaw("SELECT current_user, current_setting('random_page_cost')").Scan(ctx, &role, &cost); err != nil {
			t.Fatal(err)
		}
		return role, cost
	}
	// outsideCost is the cost outside a request: a pool without a role sets
	// nothing there (the commands' pool: VACUUM cannot run in a prefixed
	// message).
	check := func(opts db.Options, wantRole, wantCost, outsideCost string) {
		t.Helper()
		d, err := db.Open(url, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		read := db.BeginRequest(ctx, d, 1, true)
		write := db.BeginRequest(ctx, d, 1, false)
		for what, q := range map[string]func() (string, string){
			"outside a request": func() (string, string) { return show(d, ctx) },
			"a reader":          func() (string, string) { return show(db.Use(read, d), read) },
			"a writer":          func() (string, string) { return show(db.Use(write, d), write) },
			"a transaction": func() (role, cost string) {
				err := d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { role, cost = show(tx, ctx); return nil })
				if err != nil {
					t.Fatal(err)
				}
				return role, cost
			},
		} {
			want := wantCost
			if what == "outside a request" || what == "a transaction" {
				want = outsideCost
			}
			if role, cost := q(); role != wantRole || cost != want {
				t.Errorf("%+v, %s: role %q, cost %q; want %q, %q", opts, what, role, cost, wantRole, want)
			}
		}
		for _, ctx := range []context.Context{read, write} {
			if err := db.EndRequest(ctx, false); err != nil {
				t.Fatal(err)
			}
		}
		// What the pool set is gone for the owner's next statement.
		if role, cost := show(owner, ctx); role != ownerRole || cost != server {
			t.Errorf("the owner's pool after %+v: role %q, cost %q", opts, role, cost)
		}
	}
	check(db.Options{Role: "crm_app", RandomPageCost: 1.1}, "crm_app", "1.1", "1.1")
	check(db.Options{Role: "crm_app", RandomPageCost: 0}, "crm_app", server, server)
	check(db.Options{RandomPageCost: 2}, ownerRole, "2", server)
	check(db.Options{Owner: true, Role: "crm_app", RandomPageCost: 2}, ownerRole, server, server)
}
