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
	ctx = db.BeginRequest(ctx, d, 1)

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
	ctx = db.BeginRequest(context.Background(), d, 42)
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
// request, committed or rolled back, reuses with its own.
func TestRequestAccountIsTheRequestsOnly(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("the request transaction exists on PostgreSQL only")
	}
	d, err := db.Open(dbtest.URL(t), db.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	setting := func(q bun.IDB) string {
		t.Helper()
		var s string
		if err := q.NewSelect().ColumnExpr("coalesce(current_setting('app.account_id', true), '')").Scan(context.Background(), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i, account := range []int64{42, 7, 9} {
		ctx := db.BeginRequest(context.Background(), d, account)
		if got, want := setting(db.Use(ctx, d)), strconv.FormatInt(account, 10); got != want {
			t.Fatalf("request %d: account %q, want %q", i, got, want)
		}
		if err := db.EndRequest(ctx, i == 1); err != nil {
			t.Fatal(err)
		}
		if got := setting(d); got != "" {
			t.Fatalf("after request %d the pool's connection keeps account %q", i, got)
		}
	}
}
