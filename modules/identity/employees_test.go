package identity_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// actors of one account: the super_admin (owner), an admin and an employee.
type actors struct {
	t                      *identitytest.Tenant
	super, admin, employee identitytest.User
}

func newActors(e *identitytest.Env, name string) actors {
	t := e.Account(name)
	return actors{t: t, super: t.Owner, admin: t.Employee("admin"), employee: t.Employee("employee")}
}

func (a actors) as(role string) identitytest.User {
	switch role {
	case "super_admin":
		return a.super
	case "admin":
		return a.admin
	}
	return a.employee
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestEmployeeRoleMatrix is the contract's role table for employees, one
// row per (route, target), one column per caller role.
func TestEmployeeRoleMatrix(t *testing.T) {
	e := identitytest.New(t, nil)
	a := newActors(e, "Matrix")

	type want struct{ super, admin, employee int }
	cases := []struct {
		name string
		// target builds a fresh target employee (nil: the caller itself).
		target string // "", "super_admin", "admin", "employee", "self"
		do     func(caller identitytest.User, targetID int64) *apptest.Response
		want   want
	}{
		{"list", "", func(c identitytest.User, _ int64) *apptest.Response { return e.Get(c.Token, "/api/employees/") }, want{200, 200, 200}},
		{"retrieve employee", "employee", func(c identitytest.User, id int64) *apptest.Response {
			return e.Get(c.Token, path("/api/employees/%d/", id))
		}, want{200, 200, 200}},
		{"create employee", "", func(c identitytest.User, _ int64) *apptest.Response {
			return e.Post(c.Token, "/api/employees/", newEmployee("employee"))
		}, want{201, 201, 403}},
		{"create admin", "", func(c identitytest.User, _ int64) *apptest.Response {
			return e.Post(c.Token, "/api/employees/", newEmployee("admin"))
		}, want{201, 201, 403}},
		{"create super_admin", "", func(c identitytest.User, _ int64) *apptest.Response {
			return e.Post(c.Token, "/api/employees/", newEmployee("super_admin"))
		}, want{201, 403, 403}},
		{"rename employee", "employee", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"name": "Renamed"})
		}, want{200, 200, 403}},
		{"rename admin", "admin", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"name": "Renamed"})
		}, want{200, 200, 403}},
		{"rename super_admin", "super_admin", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"name": "Renamed"})
		}, want{200, 403, 403}},
		{"rename self", "self", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"name": "Me Renamed", "job_role": "Coach", "phone_number": "+1555"})
		}, want{200, 200, 200}},
		{"promote employee to admin", "employee", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"role": "admin"})
		}, want{200, 200, 403}},
		{"promote employee to super_admin", "employee", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"role": "super_admin"})
		}, want{200, 403, 403}},
		{"change own role", "self", func(c identitytest.User, id int64) *apptest.Response {
			role := map[string]string{"super_admin": "admin", "admin": "super_admin", "employee": "admin"}[c.Role]
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"role": role})
		}, want{403, 403, 403}},
		{"change own email", "self", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"email": "new-" + c.Email})
		}, want{200, 200, 403}},
		{"deactivate self by patch", "self", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"is_active": false})
		}, want{403, 403, 403}},
		{"delete employee", "employee", func(c identitytest.User, id int64) *apptest.Response {
			return e.Delete(c.Token, path("/api/employees/%d/", id))
		}, want{204, 204, 403}},
		{"delete admin", "admin", func(c identitytest.User, id int64) *apptest.Response {
			return e.Delete(c.Token, path("/api/employees/%d/", id))
		}, want{204, 204, 403}},
		{"delete super_admin", "super_admin", func(c identitytest.User, id int64) *apptest.Response {
			return e.Delete(c.Token, path("/api/employees/%d/", id))
		}, want{204, 403, 403}},
		{"delete self", "self", func(c identitytest.User, id int64) *apptest.Response {
			return e.Delete(c.Token, path("/api/employees/%d/", id))
		}, want{403, 403, 403}},
		{"reset employee password", "employee", func(c identitytest.User, id int64) *apptest.Response {
			return e.Post(c.Token, path("/api/employees/%d/change_password/", id), map[string]any{"new_password": "another-password-1"})
		}, want{200, 200, 403}},
		{"reset super_admin password", "super_admin", func(c identitytest.User, id int64) *apptest.Response {
			return e.Post(c.Token, path("/api/employees/%d/change_password/", id), map[string]any{"new_password": "another-password-1"})
		}, want{200, 403, 403}},
		{"change own password", "self", func(c identitytest.User, id int64) *apptest.Response {
			return e.Post(c.Token, path("/api/employees/%d/change_password/", id), map[string]any{"old_password": identitytest.Password, "new_password": identitytest.Password})
		}, want{200, 200, 200}},
		{"grant permissions to employee", "employee", func(c identitytest.User, id int64) *apptest.Response {
			return e.Post(c.Token, path("/api/employees/%d/update_permissions/", id), map[string]any{"permissions": []string{"view_all_clients"}})
		}, want{200, 200, 403}},
		{"grant permissions to super_admin", "super_admin", func(c identitytest.User, id int64) *apptest.Response {
			return e.Post(c.Token, path("/api/employees/%d/update_permissions/", id), map[string]any{"permissions": []string{"view_all_clients"}})
		}, want{200, 403, 403}},
		{"grant permissions to self", "self", func(c identitytest.User, id int64) *apptest.Response {
			return e.Post(c.Token, path("/api/employees/%d/update_permissions/", id), map[string]any{"permissions": []string{"view_all_clients"}})
		}, want{403, 403, 403}},
		{"grant permissions by patch to self", "self", func(c identitytest.User, id int64) *apptest.Response {
			return e.Patch(c.Token, path("/api/employees/%d/", id), map[string]any{"permissions": []string{"manage_all_clients"}})
		}, want{403, 403, 403}},
	}
	for _, tc := range cases {
		for _, role := range []string{"super_admin", "admin", "employee"} {
			t.Run(tc.name+"/"+role, func(t *testing.T) {
				// Fresh callers and targets, so one case cannot disturb another.
				callers := newActors(e, "M "+tc.name+" "+role)
				caller := callers.as(role)
				var target int64
				switch tc.target {
				case "self":
					target = caller.ID
				case "super_admin":
					target = callers.t.Employee("super_admin").ID
				case "admin", "employee":
					target = callers.t.Employee(tc.target).ID
				}
				before := e.Get(callers.super.Token, path("/api/employees/%d/", target))
				r := tc.do(caller, target)
				w := map[string]int{"super_admin": tc.want.super, "admin": tc.want.admin, "employee": tc.want.employee}[role]
				if r.Status != w {
					t.Fatalf("%s as %s: %s, want %d", tc.name, role, r, w)
				}
				if strings.Contains(string(r.Body), "password_hash") || strings.Contains(string(r.Body), "argon2") {
					t.Fatalf("password material in response: %s", r.Body)
				}
				if r.Status >= 400 {
					if m := r.Map(t); m["detail"] == nil {
						t.Fatalf("error without detail: %s", r.Body)
					}
					if target != 0 {
						after := e.Get(callers.super.Token, path("/api/employees/%d/", target))
						if string(after.Body) != string(before.Body) {
							t.Fatalf("a refused request changed the employee:\nbefore %s\nafter  %s", before.Body, after.Body)
						}
					}
				}
			})
		}
	}
	_ = a
}

var empSeq int

func newEmployee(role string) map[string]any {
	empSeq++
	return map[string]any{"name": fmt.Sprintf("New %s %d", role, empSeq), "email": fmt.Sprintf("new-%s-%d@example.com", role, empSeq),
		"password": "a-good-password", "role": role}
}

// TestCrossAccountEmployeesAre404 calls every employees and accounts route
// with another account's ids: each is 404 and changes nothing there.
func TestCrossAccountEmployeesAre404(t *testing.T) {
	e := identitytest.New(t, nil)
	mine := newActors(e, "Mine")
	other := newActors(e, "Other")
	id := other.employee.ID
	for _, caller := range []identitytest.User{mine.super, mine.admin} {
		calls := []struct {
			name string
			r    *apptest.Response
		}{
			{"get employee", e.Get(caller.Token, path("/api/employees/%d/", id))},
			{"patch employee", e.Patch(caller.Token, path("/api/employees/%d/", id), map[string]any{"name": "Hacked"})},
			{"put employee", e.Put(caller.Token, path("/api/employees/%d/", id), map[string]any{"name": "Hacked", "email": "x@example.com"})},
			{"delete employee", e.Delete(caller.Token, path("/api/employees/%d/", id))},
			{"change password", e.Post(caller.Token, path("/api/employees/%d/change_password/", id), map[string]any{"new_password": "hacked-password"})},
			{"update permissions", e.Post(caller.Token, path("/api/employees/%d/update_permissions/", id), map[string]any{"permissions": []string{"view_all_clients"}})},
			{"get account", e.Get(caller.Token, path("/api/accounts/%d/", other.t.ID))},
		}
		if caller.Role == "super_admin" {
			calls = append(calls, struct {
				name string
				r    *apptest.Response
			}{"patch account", e.Patch(caller.Token, path("/api/accounts/%d/", other.t.ID), map[string]any{"name": "Hacked"})}, struct {
				name string
				r    *apptest.Response
			}{"put account", e.Put(caller.Token, path("/api/accounts/%d/", other.t.ID), map[string]any{"name": "Hacked"})})
		}
		for _, c := range calls {
			if c.r.Status != http.StatusNotFound {
				t.Errorf("%s as %s: %s, want 404", c.name, caller.Role, c.r)
			}
		}
	}
	// Nothing changed in the other account; its employee still signs in.
	got := apptest.Expect(t, e.Get(other.super.Token, path("/api/employees/%d/", id)), http.StatusOK).Map(t)
	if got["is_active"] != true || strings.HasPrefix(got["name"].(string), "Hacked") || len(got["permissions"].([]any)) != 0 {
		t.Fatalf("other account's employee changed: %v", got)
	}
	e.Login(other.employee.Email, identitytest.Password)
	acc := apptest.Expect(t, e.Get(other.super.Token, path("/api/accounts/%d/", other.t.ID)), http.StatusOK).Map(t)
	if acc["name"] != "Other" {
		t.Fatalf("other account renamed: %v", acc)
	}
	// Lists never show another account's rows.
	list := apptest.Expect(t, e.Get(mine.super.Token, "/api/employees/?page_size=200"), http.StatusOK).Map(t)
	for _, r := range list["results"].([]any) {
		if int64(r.(map[string]any)["account"].(float64)) != mine.t.ID {
			t.Fatalf("list shows another account's employee: %v", r)
		}
	}
	accs := apptest.Expect(t, e.Get(mine.admin.Token, "/api/accounts/"), http.StatusOK).Map(t)
	if accs["count"].(float64) != 1 || int64(accs["results"].([]any)[0].(map[string]any)["id"].(float64)) != mine.t.ID {
		t.Fatalf("accounts list = %v", accs)
	}
}

func TestAccountsRoles(t *testing.T) {
	e := identitytest.New(t, nil)
	a := newActors(e, "Acme")
	for _, role := range []string{"super_admin", "admin", "employee"} {
		u := a.as(role)
		apptest.Expect(t, e.Get(u.Token, "/api/accounts/"), http.StatusOK)
		apptest.Expect(t, e.Get(u.Token, path("/api/accounts/%d/", a.t.ID)), http.StatusOK)
		want := map[string]int{"super_admin": 200, "admin": 403, "employee": 403}[role]
		apptest.Expect(t, e.Patch(u.Token, path("/api/accounts/%d/", a.t.ID), map[string]any{"name": "Acme " + role}), want)
	}
	got := apptest.Expect(t, e.Get(a.employee.Token, path("/api/accounts/%d/", a.t.ID)), http.StatusOK).Map(t)
	if got["name"] != "Acme super_admin" {
		t.Fatalf("account = %v", got)
	}
	// A body naming another account cannot move the employee.
	r := apptest.Expect(t, e.Patch(a.super.Token, path("/api/employees/%d/", a.employee.ID), map[string]any{"account": 999, "account_id": 999, "name": "Still here"}), http.StatusOK).Map(t)
	if int64(r["account"].(float64)) != a.t.ID {
		t.Fatalf("employee moved: %v", r)
	}
}

func TestRevocation(t *testing.T) {
	e := identitytest.New(t, nil)
	a := newActors(e, "Acme")

	// A password change revokes the employee's other sessions, keeps this one.
	second := e.Login(a.employee.Email, identitytest.Password)
	apptest.Expect(t, e.Post(a.employee.Token, path("/api/employees/%d/change_password/", a.employee.ID),
		map[string]any{"old_password": "wrong-password", "new_password": "brand-new-pass"}), http.StatusBadRequest)
	apptest.Expect(t, e.Post(a.employee.Token, path("/api/employees/%d/change_password/", a.employee.ID),
		map[string]any{"old_password": identitytest.Password, "new_password": "brand-new-pass"}), http.StatusOK)
	apptest.Expect(t, e.Get(a.employee.Token, "/api/auth/me/"), http.StatusOK)
	apptest.Expect(t, e.Get(second, "/api/auth/me/"), http.StatusUnauthorized)
	if r := e.Post("", "/api/auth/login/", map[string]string{"email": a.employee.Email, "password": identitytest.Password}); r.Status != http.StatusUnauthorized {
		t.Fatalf("old password still works: %s", r)
	}
	fresh := e.Login(a.employee.Email, "brand-new-pass")

	// An admin's reset revokes every session.
	apptest.Expect(t, e.Post(a.admin.Token, path("/api/employees/%d/change_password/", a.employee.ID), map[string]any{"new_password": "reset-by-admin"}), http.StatusOK)
	apptest.Expect(t, e.Get(a.employee.Token, "/api/auth/me/"), http.StatusUnauthorized)
	apptest.Expect(t, e.Get(fresh, "/api/auth/me/"), http.StatusUnauthorized)

	// A role change applies on the next request.
	tok := e.Login(a.employee.Email, "reset-by-admin")
	apptest.Expect(t, e.Post(tok, "/api/employees/", newEmployee("employee")), http.StatusForbidden)
	apptest.Expect(t, e.Patch(a.admin.Token, path("/api/employees/%d/", a.employee.ID), map[string]any{"role": "admin"}), http.StatusOK)
	apptest.Expect(t, e.Post(tok, "/api/employees/", newEmployee("employee")), http.StatusCreated)
	me := apptest.Expect(t, e.Get(tok, "/api/auth/me/"), http.StatusOK).Map(t)
	if me["role"] != "admin" {
		t.Fatalf("me after promotion = %v", me)
	}

	// Deactivation (DELETE) revokes and blocks login; the row stays.
	apptest.Expect(t, e.Delete(a.super.Token, path("/api/employees/%d/", a.employee.ID)), http.StatusNoContent)
	apptest.Expect(t, e.Get(tok, "/api/auth/me/"), http.StatusUnauthorized)
	got := apptest.Expect(t, e.Get(a.super.Token, path("/api/employees/%d/", a.employee.ID)), http.StatusOK).Map(t)
	if got["is_active"] != false {
		t.Fatalf("deleted employee = %v", got)
	}
	inactive := apptest.Expect(t, e.Get(a.super.Token, "/api/employees/?status=inactive"), http.StatusOK).Map(t)
	if inactive["count"].(float64) != 1 {
		t.Fatalf("inactive list = %v", inactive)
	}
}

func TestEmployeeValidationAndFilters(t *testing.T) {
	e := identitytest.New(t, nil)
	a := newActors(e, "Acme")
	// Every failing field is named: schema failures together...
	r := apptest.Expect(t, e.Post(a.admin.Token, "/api/employees/", map[string]any{
		"name": strings.Repeat("x", 151), "email": 5, "job_role": strings.Repeat("y", 151),
	}), http.StatusBadRequest).Map(t)
	fields := r["errors"].(map[string]any)
	for _, f := range []string{"name", "email", "password", "job_role"} {
		if fields[f] == nil {
			t.Errorf("field %s not named: %v", f, r)
		}
	}
	// ...and rule failures together.
	r = apptest.Expect(t, e.Post(a.admin.Token, "/api/employees/", map[string]any{
		"name": " ", "email": "not-an-email", "password": "12345678", "role": "king", "permissions": []string{"fly"},
	}), http.StatusBadRequest).Map(t)
	fields = r["errors"].(map[string]any)
	for _, f := range []string{"name", "email", "password", "role", "permissions"} {
		if fields[f] == nil {
			t.Errorf("field %s not named: %v", f, r)
		}
	}
	if list := apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/"), http.StatusOK).Map(t); list["count"].(float64) != 3 {
		t.Fatalf("a refused create wrote something: %v", list)
	}
	apptest.Expect(t, e.Post(a.admin.Token, "/api/employees/", map[string]any{"name": 7, "email": "a@b.co", "password": "longenough"}), http.StatusBadRequest)
	apptest.Expect(t, e.Post(a.admin.Token, "/api/employees/", map[string]any{"name": "Pw Is Email", "email": "same@example.com", "password": "Same@Example.com"}), http.StatusBadRequest)
	// Duplicate email (case-insensitive, across accounts) is a conflict.
	other := e.Account("Other")
	apptest.Expect(t, e.Post(a.admin.Token, "/api/employees/", map[string]any{"name": "Dup", "email": strings.ToUpper(other.Owner.Email), "password": "longenough"}), http.StatusConflict)
	// Unknown permission names list the known ones.
	bad := apptest.Expect(t, e.Post(a.admin.Token, path("/api/employees/%d/update_permissions/", a.employee.ID), map[string]any{"permissions": []string{"view_all_clients", "fly"}}), http.StatusBadRequest).Map(t)
	if known, _ := bad["known"].([]any); len(known) < 2 {
		t.Fatalf("known permissions not listed: %v", bad)
	}
	ok := apptest.Expect(t, e.Post(a.admin.Token, path("/api/employees/%d/update_permissions/", a.employee.ID), map[string]any{"permissions": []string{"view_all_clients"}}), http.StatusOK).Map(t)
	if p := ok["permissions"].([]any); len(p) != 1 || p[0] != "view_all_clients" {
		t.Fatalf("permissions = %v", ok)
	}
	me := apptest.Expect(t, e.Get(a.employee.Token, "/api/auth/me/"), http.StatusOK).Map(t)
	if p := me["permissions"].([]any); len(p) != 1 || p[0] != "view_all_clients" {
		t.Fatalf("me permissions = %v", me)
	}

	// Filters, search, ordering, pagination.
	list := apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?role=admin"), http.StatusOK).Map(t)
	if list["count"].(float64) != 1 {
		t.Fatalf("role=admin: %v", list)
	}
	list = apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?search="+strings.ToUpper(a.employee.Email[:8])), http.StatusOK).Map(t)
	if list["count"].(float64) != 1 {
		t.Fatalf("search: %v", list)
	}
	list = apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?search=%25"), http.StatusOK).Map(t)
	if list["count"].(float64) != 0 {
		t.Fatalf("search %% matched literally nothing expected: %v", list)
	}
	apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?ordering=password_hash"), http.StatusBadRequest)
	apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?status=gone"), http.StatusBadRequest)
	page := apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?ordering=name&page_size=2"), http.StatusOK).Map(t)
	if page["count"].(float64) != 3 || len(page["results"].([]any)) != 2 || page["next"] == nil || page["previous"] != nil {
		t.Fatalf("page 1 = %v", page)
	}
	page2 := apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?ordering=name&page_size=2&page=2"), http.StatusOK).Map(t)
	if page2["count"].(float64) != 3 || len(page2["results"].([]any)) != 1 || page2["next"] != nil || page2["previous"] == nil {
		t.Fatalf("page 2 = %v", page2)
	}
	// A page that is full counts; one that is not is its own count: both
	// give the same count, whichever page ends the list.
	for _, q := range []string{"page_size=3", "page_size=1&page=3", "page_size=4", "page_size=2&page=2"} {
		p := apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?ordering=name&"+q), http.StatusOK).Map(t)
		if p["count"].(float64) != 3 || p["next"] != nil {
			t.Fatalf("%s: %v", q, p)
		}
	}
	apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?page=3&page_size=2"), http.StatusNotFound)
	apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?page=4&page_size=1"), http.StatusNotFound)
	big := apptest.Expect(t, e.Get(a.admin.Token, "/api/employees/?page_size=5000"), http.StatusOK).Map(t)
	if big["count"].(float64) != 3 {
		t.Fatalf("clamped page: %v", big)
	}
}
