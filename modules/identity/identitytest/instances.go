package identitytest

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"crm/platform/apptest"
	"crm/platform/db"
)

// Propagation bounds how long a change made through one instance may take to
// reach another instance's principal cache (NOTIFY at commit, then the
// listener). Measured at a few milliseconds; the bound leaves room for a
// loaded machine.
const Propagation = 3 * time.Second

// CheckPrincipalChanges is what any two instances on one database must
// pass, whether they are two apps in the test's process or two `crm serve`
// processes: a logout, a deactivation, a role, permission or account-name
// change and a password change made through one instance take effect on the
// very next request on that instance, and on the other instance that had the
// caller cached within Propagation. On SQLite there is no principal cache
// (every request reads the database): there the very next request on the
// other instance must show the change too.
func CheckPrincipalChanges(t *testing.T, one, two *Env) {
	t.Helper()
	pc := principalCheck{t: t, cache: db.DialectOf(one.DB) == db.Postgres}
	if pc.cache {
		pc.bound = Propagation
	}
	cached, within := pc.cached, pc.within
	acme := one.Account("Acme")
	emp := acme.Employee("employee")
	admin := acme.Employee("admin")
	path := func(id int64) string { return "/api/employees/" + strconv.FormatInt(id, 10) + "/" }

	// Logout on one: refused next on one, and on two.
	cached(one, emp.Token, emp.ID)
	cached(two, emp.Token, emp.ID)
	apptest.Expect(t, one.Post(emp.Token, "/api/auth/logout/", nil), http.StatusOK)
	if s, _ := one.me(emp.Token); s != http.StatusUnauthorized {
		t.Fatalf("logged out, same instance: %d", s)
	}
	within("logout", func() bool { s, _ := two.me(emp.Token); return s == http.StatusUnauthorized })

	// A role and a permission change on one.
	cached(one, admin.Token, admin.ID)
	cached(two, admin.Token, admin.ID)
	apptest.Expect(t, one.Patch(acme.Owner.Token, path(admin.ID), map[string]any{"role": "employee"}), http.StatusOK)
	if _, m := one.me(admin.Token); m["role"] != "employee" {
		t.Fatalf("role change, same instance: %v", m)
	}
	within("role change", func() bool { _, m := two.me(admin.Token); return m["role"] == "employee" })
	// The new role is enforced, not only shown: an employee may not create
	// employees.
	apptest.Expect(t, two.Post(admin.Token, "/api/employees/", map[string]any{"name": "X", "email": "x@acme.example.com",
		"password": Password, "role": "employee"}), http.StatusForbidden)

	cached(two, admin.Token, admin.ID)
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
	if _, m := one.me(admin.Token); !has(m) {
		t.Fatalf("permission change, same instance: %v", m)
	}
	within("permission change", func() bool { _, m := two.me(admin.Token); return has(m) })

	// The account's new name.
	cached(two, admin.Token, admin.ID)
	apptest.Expect(t, one.Patch(acme.Owner.Token, "/api/accounts/"+strconv.FormatInt(acme.ID, 10)+"/", map[string]any{"name": "Acme Renamed"}), http.StatusOK)
	if _, m := one.me(admin.Token); m["account_name"] != "Acme Renamed" {
		t.Fatalf("account rename, same instance: %v", m)
	}
	within("account rename", func() bool { _, m := two.me(admin.Token); return m["account_name"] == "Acme Renamed" })

	// A password change revokes the other sessions.
	other := one.Login(admin.Email, Password)
	cached(two, other, admin.ID)
	apptest.Expect(t, one.Post(admin.Token, path(admin.ID)+"change_password/", map[string]any{
		"old_password": Password, "new_password": "another-horse-battery"}), http.StatusOK)
	if s, _ := one.me(other); s != http.StatusUnauthorized {
		t.Fatalf("password change, same instance: %d", s)
	}
	within("password change", func() bool { s, _ := two.me(other); return s == http.StatusUnauthorized })
	apptest.Expect(t, two.Get(admin.Token, "/api/auth/me/"), http.StatusOK) // the session that changed it stays

	// Deactivation (DELETE) on two this time.
	cached(one, admin.Token, admin.ID)
	cached(two, admin.Token, admin.ID)
	apptest.Expect(t, two.Delete(acme.Owner.Token, path(admin.ID)), http.StatusNoContent)
	if s, _ := two.me(admin.Token); s != http.StatusUnauthorized {
		t.Fatalf("deactivated, same instance: %d", s)
	}
	within("deactivation", func() bool { s, _ := one.me(admin.Token); return s == http.StatusUnauthorized })
}

// principalCheck is the run of a CheckPrincipalChanges: whether the
// instances cache principals (PostgreSQL), and how long the other may take.
type principalCheck struct {
	t     *testing.T
	cache bool
	bound time.Duration
}

// cached makes sure e serves the token from its cache, so that what
// follows checks the cache's invalidation; no-op without a cache.
func (pc principalCheck) cached(e *Env, token string, employeeID int64) {
	if pc.cache {
		e.Cached(token, employeeID)
	}
}

// within fails unless ok holds within the bound, logging when it did.
func (pc principalCheck) within(what string, ok func() bool) {
	t := pc.t
	t.Helper()
	start := time.Now()
	tries := 1
	for ; !ok(); tries++ {
		if time.Since(start) >= pc.bound {
			t.Fatalf("%s: not seen by the other instance within %v (%d requests)", what, pc.bound, tries)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%s: seen by the other instance at its request %d, after %v", what, tries, time.Since(start).Round(time.Millisecond))
}

// me is the status of GET /api/auth/me/ with token, and its body when 200.
func (e *Env) me(token string) (int, map[string]any) {
	e.T.Helper()
	r := e.Get(token, "/api/auth/me/")
	if r.Status != http.StatusOK {
		return r.Status, nil
	}
	return r.Status, r.Map(e.T)
}

// Cached makes sure e serves token's caller from its principal cache
// (PostgreSQL): a name written behind the API's back is not seen (the
// control that makes a check of the cache's invalidation mean something);
// the name is put back after.
func (e *Env) Cached(token string, employeeID int64) {
	e.T.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, before := e.me(token)
		if before == nil {
			e.T.Fatalf("me refused before the test")
		}
		if _, err := e.DB.NewUpdate().Table("employees").Set("name = ?", "behind the back").Where("id = ?", employeeID).Exec(ctx); err != nil {
			e.T.Fatal(err)
		}
		_, after := e.me(token)
		if _, err := e.DB.NewUpdate().Table("employees").Set("name = ?", before["name"]).Where("id = ?", employeeID).Exec(ctx); err != nil {
			e.T.Fatal(err)
		}
		if after != nil && after["name"] == before["name"] {
			return
		}
		if time.Now().After(deadline) {
			e.T.Fatal("the principal cache never came on (listener not connected)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
