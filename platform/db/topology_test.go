package db_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"crm/platform/db"
	"crm/platform/dbtest"
)

// Inspect tells a direct connection from a transaction pooler, and refuses
// a pooler in statement mode, which cannot keep a transaction together.
func TestInspect(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("PostgreSQL (set CRM_TEST_POSTGRES_URL)")
	}
	ctx := context.Background()
	direct := dbtest.Direct(dbtest.URL(t))
	top, err := db.Inspect(ctx, direct)
	if err != nil || top.Pooled || top.Login == "" {
		t.Fatalf("direct: %+v, %v; want not pooled, a login", top, err)
	}
	u, _ := url.Parse(direct)
	for _, size := range []int{1, 4} {
		top, err := db.Inspect(ctx, dbtest.Pooler(t, direct, "transaction", size))
		if err != nil || !top.Pooled || top.Login != u.User.Username() {
			t.Fatalf("transaction pooler of %d: %+v, %v; want pooled, login %s", size, top, err, u.User.Username())
		}
	}
	if _, err := db.Inspect(ctx, dbtest.Pooler(t, direct, "statement", 4)); !errors.Is(err, db.ErrStatementPooling) {
		t.Fatalf("statement pooler: %v, want ErrStatementPooling", err)
	}
	// A session pooler keeps each client on its session: served as direct.
	if top, err := db.Inspect(ctx, dbtest.Pooler(t, direct, "session", 4)); err != nil || top.Login == "" {
		t.Fatalf("session pooler: %+v, %v", top, err)
	}
}
