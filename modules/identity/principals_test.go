package identity_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/config"
	"crm/platform/dbtest"
)

// startedPair starts two instances of the app, as `crm serve` runs them, on
// one fresh database.
func startedPair(t *testing.T) (*identitytest.Env, *identitytest.Env) {
	t.Helper()
	one := identitytest.New(t, nil)
	two := identitytest.New(t, nil, apptest.WithDatabaseURL(one.Config.DatabaseURL))
	one.Start()
	two.Start()
	return one, two
}

func meOf(t *testing.T, e *identitytest.Env, token string) (int, map[string]any) {
	t.Helper()
	r := e.Get(token, "/api/auth/me/")
	if r.Status != http.StatusOK {
		return r.Status, nil
	}
	return r.Status, r.Map(t)
}

// TestPrincipalChangesReachEveryInstance runs the check of every pair of
// instances on two apps in this process (cmd/crm runs it on two processes).
func TestPrincipalChangesReachEveryInstance(t *testing.T) {
	one, two := startedPair(t)
	identitytest.CheckPrincipalChanges(t, one, two)
}

// TestPrincipalCacheOffWithoutListener: when the listener is down the cache
// is not used; a change behind the API's back is seen at once.
func TestPrincipalCacheOffWithoutListener(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("the principal cache runs on PostgreSQL only (set CRM_TEST_POSTGRES_URL)")
	}
	one, _ := startedPair(t)
	acme := one.Account("Acme")
	emp := acme.Employee("employee")
	one.Cached(emp.Token, emp.ID)
	// Cut the listener's connection (and every other) from the server side.
	if _, err := one.DB.ExecContext(context.Background(),
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'"); err != nil {
		t.Fatal(err)
	}
	// From now until the listener is back the cache is off; once back it
	// starts empty. Either way a change behind the API's back is seen.
	time.Sleep(500 * time.Millisecond)
	if _, err := one.DB.NewUpdate().Table("sessions").Set("revoked_at = ?", time.Now().UTC()).Where("employee_id = ?", emp.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	apptest.Expect(t, one.Get(emp.Token, "/api/auth/me/"), http.StatusUnauthorized)
}

// TestPrincipalCacheOffBehindTransactionPooler: a listener pointed at a
// transaction pooler (CRM_DB_LISTEN_URL left on a pooled URL) gets no
// announcements, so the cache never comes on: every request reads the
// database, and a change behind the API's back is seen at once, over and
// over, not after the cache's age limit.
func TestPrincipalCacheOffBehindTransactionPooler(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("the principal cache runs on PostgreSQL only (set CRM_TEST_POSTGRES_URL)")
	}
	url := dbtest.URL(t)
	pooled := dbtest.Pooler(t, url, "transaction", 2)
	e := identitytest.New(t, nil, apptest.WithDatabaseURL(url), func(c *config.Config) { c.DBListenURL = pooled })
	e.Start()
	acme := e.Account("Acme")
	emp := acme.Employee("employee")
	ctx := context.Background()
	for i, name := range []string{"first", "second", "third"} {
		if _, err := e.DB.NewUpdate().Table("employees").Set("name = ?", name).Where("id = ?", emp.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, m := meOf(t, e, emp.Token); m["name"] != name {
			t.Fatalf("change %d behind the API's back: me says %v, want %q (served from a cache that hears nothing)", i, m["name"], name)
		}
	}
}
