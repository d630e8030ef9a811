package db_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"crm/platform/db"
	"crm/platform/dbtest"
)

// Errors of a database out of reach are KindUnavailable (the API answers
// 503); errors of the request are not.
func TestClassifyUnavailable(t *testing.T) {
	for name, err := range map[string]error{
		"bad connection":      fmt.Errorf("query: %w", driver.ErrBadConn),
		"connection done":     fmt.Errorf("query: %w", sql.ErrConnDone),
		"unexpected EOF":      fmt.Errorf("read: %w", io.ErrUnexpectedEOF),
		"connection reset":    &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		"deadline":            fmt.Errorf("query: %w", context.DeadlineExceeded),
		"transaction aborted": fmt.Errorf("commit: %w", sql.ErrTxDone),
	} {
		if k := db.Classify(err); k != db.KindUnavailable {
			t.Errorf("%s: kind %v, want unavailable", name, k)
		}
	}
	for name, err := range map[string]error{
		"other":   errors.New("boom"),
		"no rows": sql.ErrNoRows,
	} {
		if k := db.Classify(err); k != db.KindOther {
			t.Errorf("%s: kind %v, want other", name, k)
		}
	}
}

// A PostgreSQL server that is not there: the connect error is unavailable.
func TestClassifyRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	d, err := db.Open("postgres://postgres@"+addr+"/crm?sslmode=disable", db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = d.PingContext(ctx)
	if err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if k := db.Classify(err); k != db.KindUnavailable {
		t.Errorf("%v: kind %v, want unavailable", err, k)
	}
}

// A transaction whose context ends before its commit (the request's
// CRM_DB_TIMEOUT ran out) is rolled back by database/sql; the commit's
// error is unavailable (503), not an internal error. Both databases.
func TestClassifyCommitAfterTheTimeLimit(t *testing.T) {
	d, err := db.Open(dbtest.URL(t), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond) // database/sql rolls back on its own goroutine
	err = tx.Commit()
	if err == nil {
		t.Fatal("commit after the context ended succeeded")
	}
	if k := db.Classify(err); k != db.KindUnavailable {
		t.Errorf("commit after the time limit: %v: kind %v, want unavailable", err, k)
	}
}
