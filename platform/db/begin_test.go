package db_test

import (
	"context"
	"errors"
	"testing"

	"crm/platform/db"
	"crm/platform/dbtest"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// A transaction of the API's pool sends its BEGIN and settings with its
// first statement, in one message: that statement starts when the
// transaction does (PostgreSQL stamps both with the message's arrival), a
// later one does not. A transaction that sends nothing ends without a round
// trip; one whose first statement fails rolls back, writes nothing and
// leaves its connection usable; one whose first statement carries separate
// arguments sends its BEGIN alone first; a commit after a failed statement
// says the transaction was rolled back.
func TestTransactionBeginsWithItsFirstStatement(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("the settings' BEGIN exists on PostgreSQL only")
	}
	ctx := context.Background()
	url := dbtest.URL(t)
	owner, err := db.Open(url, db.Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	var user string
	if err := owner.QueryRowContext(ctx, "SELECT current_user").Scan(&user); err != nil {
		t.Fatal(err)
	}
	// A pool with a role sets it in every transaction (the API's pool: crm_app).
	d, err := db.Open(url, db.Options{MaxOpenConns: 1, Role: user})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, "CREATE TABLE t (n int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := d.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	startsTx := func(tx bun.Tx) (same bool) {
		t.Helper()
		if err := tx.QueryRowContext(ctx, "SELECT statement_timestamp() = transaction_timestamp()").Scan(&same); err != nil {
			t.Fatal(err)
		}
		return same
	}

	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !startsTx(tx) {
		t.Error("the first statement of a transaction did not arrive with its BEGIN")
	}
	if startsTx(tx) {
		t.Error("the second statement of a transaction arrived with its BEGIN")
	}
	var account string
	if err := tx.QueryRowContext(ctx, "SELECT current_setting('app.account_id', true)").Scan(&account); err != nil || account != "" {
		t.Errorf("account outside a request: %q, %v; want none", account, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	// Nothing sent: commit and rollback end it; the connection serves on.
	for _, end := range []func(bun.Tx) error{bun.Tx.Commit, bun.Tx.Rollback} {
		tx, err := d.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := end(tx); err != nil {
			t.Fatalf("end of an empty transaction: %v", err)
		}
	}

	// The first statement fails (a duplicate key after a row it wrote).
	tx, err = d.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1), (1)"); db.Classify(err) != db.KindUnique {
		t.Fatalf("duplicate insert: %v", err)
	}
	if err := tx.Commit(); !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Fatalf("commit after a failed statement: %v, want %v", err, pgx.ErrTxCommitRollback)
	}
	if n := count(); n != 0 {
		t.Fatalf("rows after a failed transaction: %d", n)
	}

	// Separate arguments (database/sql's own, which Bun never sends): BEGIN
	// first, then the statement, in the transaction.
	stx, err := d.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stx.ExecContext(ctx, "INSERT INTO t VALUES ($1)", 7); err != nil {
		t.Fatal(err)
	}
	var inside int
	if err := stx.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&inside); err != nil || inside != 1 {
		t.Fatalf("rows inside the transaction: %d, %v", inside, err)
	}
	if err := stx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("rows after a rollback: %d", n)
	}

	// A request's write transaction carries its account from its first
	// statement on.
	rctx := db.BeginRequest(ctx, d, 42, false)
	if err := db.Use(rctx, d).NewSelect().ColumnExpr("current_setting('app.account_id', true)").Scan(rctx, &account); err != nil || account != "42" {
		t.Fatalf("account in the request transaction: %q, %v", account, err)
	}
	if err := db.EndRequest(rctx, false); err != nil {
		t.Fatal(err)
	}
}
