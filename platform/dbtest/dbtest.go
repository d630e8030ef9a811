// Package dbtest gives a test a fresh, empty database: SQLite in the test's
// temporary folder, or, when CRM_TEST_POSTGRES_URL is set, a new PostgreSQL
// database dropped when the test ends. The same test body runs on both.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgresURL is the server tests may create databases on ("" = SQLite only).
func PostgresURL() string { return os.Getenv("CRM_TEST_POSTGRES_URL") }

// URL returns the CRM_DATABASE_URL of a fresh database for t.
func URL(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	if base == "" {
		return "sqlite:" + filepath.Join(t.TempDir(), "crm.db")
	}
	return NewPostgres(t, base)
}

// NewPostgres creates an empty database on the server of base and returns
// its URL; the database is dropped when the test ends.
func NewPostgres(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "crm_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
