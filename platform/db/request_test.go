package db_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"crm/platform/db"
	"crm/platform/dbtest"

	"github.com/uptrace/bun"
)

// A request whose transaction cannot begin (the database is out of reach)
// never falls back to the pool: that would run its queries without the
// request's account (row-level security) and outside its unit of work. Every
// query fails with ErrRequestAborted, a 503, and InTx does not run its body.
func TestRequestThatCannotBeginRunsNothing(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("the request transaction exists on PostgreSQL only; SQLite queries run on the pool")
	}
	d, err := db.Open(dbtest.URL(t), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ExecContext(context.Background(), "CREATE TABLE t (n int)"); err != nil {
		t.Fatal(err)
	}

	// BEGIN fails: the request's context has ended before its first query.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ctx = db.BeginRequest(ctx, d, 1, false)

	_, err = db.Use(ctx, d).NewRaw("INSERT INTO t VALUES (1)").Exec(context.Background())
	if !errors.Is(err, db.ErrRequestAborted) || db.Classify(err) != db.KindUnavailable {
		t.Fatalf("insert after a failed begin: %v (kind %v), want ErrRequestAborted, unavailable", err, db.Classify(err))
	}
	ran := false
	err = db.InTx(ctx, d, func(tx bun.Tx) error { ran = true; return nil })
	if ran || !errors.Is(err, db.ErrRequestAborted) {
		t.Fatalf("InTx after a failed begin: ran %v, err %v", ran, err)
	}
	var n int
	if err := d.NewSelect().TableExpr("t").ColumnExpr("count(*)").Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("rows written: %d, %v", n, err)
	}

	// A request that begins runs in its transaction, with its account set.
	ctx = db.BeginRequest(context.Background(), d, 42, false)
	var account string
	if err := db.Use(ctx, d).NewSelect().ColumnExpr("current_setting('app.account_id', true)").Scan(ctx, &account); err != nil || account != "42" {
		t.Fatalf("account in the request transaction: %q, %v", account, err)
	}
	if err := db.EndRequest(ctx, false); err != nil {
		t.Fatal(err)
	}
}

// BEGIN and the account go to PostgreSQL together (begin.go): the account
// holds for its request's transaction only, on a connection the next
// request, committed or rolled back, reuses with its own. A read-only
// request runs without a transaction, its account the connection's session
// setting: the next request of another account, reader or writer, and any
// use of the pool outside a request, never see it.
func TestRequestAccountIsTheRequestsOnly(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("the request transaction exists on PostgreSQL only")
	}
	d, err := db.Open(dbtest.URL(t), db.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	query := func(q bun.IDB, expr string) string {
		t.Helper()
		var s string
		if err := q.NewSelect().ColumnExpr(expr).Scan(context.Background(), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	setting := func(q bun.IDB) string {
		return query(q, "coalesce(current_setting('app.account_id', true), '')")
	}
	inTx := func(q bun.IDB) string {
		return query(q, "CASE WHEN now() = statement_timestamp() THEN 'no' ELSE 'yes' END")
	}
	// One connection: each step takes the one the step before left. pool:
	// the pool is used outside a request after the step.
	steps := []struct {
		account           int64
		read, fails, pool bool
	}{{42, true, false, false}, {42, false, false, false}, {7, false, true, true}, {7, true, false, false},
		{9, true, true, false}, {42, false, false, false}, {9, true, false, true}, {5, true, false, false}, {6, false, false, true}}
	for i, s := range steps {
		ctx := db.BeginRequest(context.Background(), d, s.account, s.read)
		h := db.Use(ctx, d)
		if got, want := setting(h), strconv.FormatInt(s.account, 10); got != want {
			t.Fatalf("step %d: account %q, want %q", i, got, want)
		}
		// A reader's queries run outside a transaction: each one its own
		// statement time; a writer's share its transaction's start.
		if got, want := inTx(h), map[bool]string{true: "no", false: "yes"}[s.read]; got != want {
			t.Fatalf("step %d (read %v): in a transaction: %s", i, s.read, got)
		}
		if s.read {
			// A reader that asks for a transaction gets one, with its account.
			err := db.InTx(ctx, d, func(tx bun.Tx) error {
				if got := setting(tx); got != strconv.FormatInt(s.account, 10) {
					t.Fatalf("step %d: account in the reader's transaction %q", i, got)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := db.EndRequest(ctx, s.fails); err != nil {
			t.Fatal(err)
		}
		if !s.pool {
			continue
		}
		if got := setting(d); got != "" {
			t.Fatalf("after step %d the pool's connection keeps account %q", i, got)
		}
	}
}
