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

// propagation bounds how long a change made through one instance may take to
// reach another instance's principal cache (NOTIFY at commit, then the
// listener). Measured at a few milliseconds; the bound leaves room for a
// loaded machine.
const propagation = 3 * time.Second

// startedPair starts two instances of the app, as `crm serve` runs them, on
// one fresh PostgreSQL database.
func startedPair(t *testing.T) (*identitytest.Env, *identitytest.Env) {
	t.Helper()
	if dbtest.PostgresURL() == "" {
		t.Skip("the principal cache runs on PostgreSQL only (set CRM_TEST_POSTGRES_URL)")
	}
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

// cached makes sure e serves token's caller from its cache: a name written
// behind the API's back is not seen (the control that makes the checks
// below mean something); the name is put back after.
func cached(t *testing.T, e *identitytest.Env, token string, employeeID int64) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, before := meOf(t, e, token)
		if before == nil {
			t.Fatalf("me refused before the test")
		}
		if _, err := e.DB.NewUpdate().Table("employees").Set("name = ?", "behind the back").Where("id = ?", employeeID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, after := meOf(t, e, token)
		if _, err := e.DB.NewUpdate().Table("employees").Set("name = ?", before["name"]).Where("id = ?", employeeID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if after != nil && after["name"] == before["name"] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the principal cache never came on (listener not connected)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// within polls until ok holds, failing after the propagation bound.
func within(t *testing.T, what string, ok func() bool) {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > propagation {
			t.Fatalf("%s: not seen by the other instance within %v", what, propagation)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%s: seen by the other instance after %v", what, time.Since(start).Round(time.Millisecond))
}

// TestPrincipalChangesReachEveryInstance: a logout, a deactivation, a role,
// permission or account-name change made through one instance take effect
// on the very next request on that instance, and within the propagation
// bound on another instance that had the caller cached.
func TestPrincipalChangesReachEveryInstance(t *testing.T) {
	one, two := startedPair(t)
	acme := one.Account("Acme")
	emp := acme.Employee("employee")
	admin := acme.Employee("admin")
	path := func(id int64) string { return "/api/employees/" + itoa(id) + "/" }

	// Logout on one: refused next on one, soon on two.
	cached(t, one, emp.Token, emp.ID)
	cached(t, two, emp.Token, emp.ID)
	apptest.Expect(t, one.Post(emp.Token, "/api/auth/logout/", nil), http.StatusOK)
	if s, _ := meOf(t, one, emp.Token); s != http.StatusUnauthorized {
		t.Fatalf("logged out, same instance: %d", s)
	}
	within(t, "logout", func() bool { s, _ := meOf(t, two, emp.Token); return s == http.StatusUnauthorized })

	// A role and a permission change on one.
	cached(t, one, admin.Token, admin.ID)
	cached(t, two, admin.Token, admin.ID)
	apptest.Expect(t, one.Patch(acme.Owner.Token, path(admin.ID), map[string]any{"role": "employee"}), http.StatusOK)
	if _, m := meOf(t, one, admin.Token); m["role"] != "employee" {
		t.Fatalf("role change, same instance: %v", m)
	}
	within(t, "role change", func() bool { _, m := meOf(t, two, admin.Token); return m["role"] == "employee" })
	// The new role is enforced, not only shown: an employee may not create
	// employees.
	apptest.Expect(t, two.Post(admin.Token, "/api/employees/", map[string]any{"name": "X", "email": "x@acme.example.com",
		"password": identitytest.Password, "role": "employee"}), http.StatusForbidden)

	cached(t, two, admin.Token, admin.ID)
	apptest.Expect(t, one.Post(acme.Owner.Token, path(admin.ID)+"update_permissions/", map[string]any{"permissions": []string{"view_all_clients"}}), http.StatusOK)
	has := func(m map[string]any) bool {
		ps, _ := m["permissions"].([]any)
		for _, p := range ps {
			if p == "view_all_clients" {
				return true
			}
		}
		return false
	}
	if _, m := meOf(t, one, admin.Token); !has(m) {
		t.Fatalf("permission change, same instance: %v", m)
	}
	within(t, "permission change", func() bool { _, m := meOf(t, two, admin.Token); return has(m) })

	// The account's new name.
	cached(t, two, admin.Token, admin.ID)
	apptest.Expect(t, one.Patch(acme.Owner.Token, "/api/accounts/"+itoa(acme.ID)+"/", map[string]any{"name": "Acme Renamed"}), http.StatusOK)
	if _, m := meOf(t, one, admin.Token); m["account_name"] != "Acme Renamed" {
		t.Fatalf("account rename, same instance: %v", m)
	}
	within(t, "account rename", func() bool { _, m := meOf(t, two, admin.Token); return m["account_name"] == "Acme Renamed" })

	// A password change revokes the other sessions.
	other := one.Login(admin.Email, identitytest.Password)
	cached(t, two, other, admin.ID)
	apptest.Expect(t, one.Post(admin.Token, path(admin.ID)+"change_password/", map[string]any{
		"old_password": identitytest.Password, "new_password": "another-horse-battery"}), http.StatusOK)
	if s, _ := meOf(t, one, other); s != http.StatusUnauthorized {
		t.Fatalf("password change, same instance: %d", s)
	}
	within(t, "password change", func() bool { s, _ := meOf(t, two, other); return s == http.StatusUnauthorized })
	apptest.Expect(t, two.Get(admin.Token, "/api/auth/me/"), http.StatusOK) // the session that changed it stays

	// Deactivation (DELETE) on two this time.
	cached(t, one, admin.Token, admin.ID)
	cached(t, two, admin.Token, admin.ID)
	apptest.Expect(t, two.Delete(acme.Owner.Token, path(admin.ID)), http.StatusNoContent)
	if s, _ := meOf(t, two, admin.Token); s != http.StatusUnauthorized {
		t.Fatalf("deactivated, same instance: %d", s)
	}
	within(t, "deactivation", func() bool { s, _ := meOf(t, one, admin.Token); return s == http.StatusUnauthorized })
}

// TestPrincipalCacheOffWithoutListener: when the listener is down the cache
// is not used; a change behind the API's back is seen at once.
func TestPrincipalCacheOffWithoutListener(t *testing.T) {
	one, _ := startedPair(t)
	acme := one.Account("Acme")
	emp := acme.Employee("employee")
	cached(t, one, emp.Token, emp.ID)
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
	if s, _ := meOf(t, one, emp.Token); s != http.StatusUnauthorized {
		t.Fatalf("revoked behind the API's back while the listener was down: %d", s)
	}
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
