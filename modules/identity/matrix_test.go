package identity_test

import (
	"fmt"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestEmployeeRowMatrix: every employees route on a row, for every role and
// permission set, answers by the scope rule: 404 when the employee is not
// one of the caller's account (missing or another account's), else 403 when
// the contract's role table refuses the change, else 2xx; a refused change
// changes nothing (a refused password change leaves the old password).
// Everybody reads every employee of the account; an employee changes only
// their own profile and password; admins manage employees up to their own
// rank; nobody deletes themselves or changes their own permissions.
func TestEmployeeRowMatrix(t *testing.T) {
	e := identitytest.New(t, nil)
	a, b := e.Account("Acme"), e.Account("Beta")
	callers := a.Callers()
	// The targets every case but a delete shares (a delete takes a new one).
	shared := map[string]identitytest.User{}
	for _, role := range []string{"employee", "admin", "super_admin"} {
		shared[role] = a.Employee(role)
	}
	foreign := b.Employee("employee")
	ranks := map[string]int{"employee": 1, "admin": 2, "super_admin": 3}
	// manages is the role table: a role changes employees of its rank or below.
	manages := func(c identitytest.Caller, target string) bool {
		return c.Admin() && ranks[c.Role] >= ranks[target]
	}
	n := 0
	// password is each employee's password now (a change that succeeds
	// changes it); next is the one the next change sets.
	password := map[int64]string{}
	next := ""
	routes := []struct {
		method, path string
		body         func(u identitytest.User, self bool) any
		ok           int
		allowed      func(c identitytest.Caller, self bool, target string) bool
	}{
		{"GET", "/api/employees/%d/", nil, 200, func(identitytest.Caller, bool, string) bool { return true }},
		{"PATCH", "/api/employees/%d/", func(identitytest.User, bool) any { n++; return map[string]any{"name": fmt.Sprint("Renamed ", n)} }, 200,
			func(c identitytest.Caller, self bool, target string) bool { return self || manages(c, target) }},
		{"PUT", "/api/employees/%d/", func(identitytest.User, bool) any { n++; return map[string]any{"job_role": fmt.Sprint("Coach ", n)} }, 200,
			func(c identitytest.Caller, self bool, target string) bool { return self || manages(c, target) }},
		{"DELETE", "/api/employees/%d/", nil, 204,
			func(c identitytest.Caller, self bool, target string) bool { return !self && manages(c, target) }},
		{"POST", "/api/employees/%d/change_password/", func(u identitytest.User, self bool) any {
			n++
			next = fmt.Sprint("another-good-password-", n)
			body := map[string]any{"new_password": next}
			if self {
				body["old_password"] = current(password, u.ID)
			}
			return body
		}, 200, func(c identitytest.Caller, self bool, target string) bool { return self || manages(c, target) }},
		{"POST", "/api/employees/%d/update_permissions/", func(identitytest.User, bool) any { return map[string]any{"permissions": []string{"view_all_clients"}} }, 200,
			func(c identitytest.Caller, self bool, target string) bool { return !self && manages(c, target) }},
	}
	for _, c := range callers {
		for _, r := range routes {
			for _, target := range []string{"self", "employee", "admin", "super_admin", "missing", "foreign"} {
				t.Run(r.method+r.path+"/"+target+"/"+c.Name(), func(t *testing.T) {
					u, owner, role := identitytest.User{ID: identitytest.MissingID}, a.Owner.Token, target
					switch target {
					case "self":
						u, role = c.User, c.Role
					case "employee", "admin", "super_admin":
						u = shared[target]
						if r.method == "DELETE" {
							u = a.Employee(target)
						}
					case "foreign":
						u, owner = foreign, b.Owner.Token
					}
					tg := identitytest.Target{ID: u.ID, Readable: target != "missing" && target != "foreign"}
					if target != "missing" {
						tg.Owner = owner
					}
					req := apptest.Request{Method: r.method, Path: fmt.Sprintf(r.path, u.ID), Token: c.Token}
					if r.body != nil {
						req.Body = r.body(u, target == "self")
					}
					want := identitytest.Answer(tg.Readable, r.allowed(c, target == "self", role), r.ok)
					e.CheckRow(t, req, want, tg.Show(t, e, fmt.Sprintf("/api/employees/%d/", u.ID)))
					if r.path != "/api/employees/%d/change_password/" || target == "missing" {
						return
					}
					if want < 400 {
						password[u.ID] = next
					}
					e.Login(u.Email, current(password, u.ID)) // a refused change left the old password
				})
			}
		}
	}
}

// current is the password of employee id now.
func current(password map[int64]string, id int64) string {
	if p, ok := password[id]; ok {
		return p
	}
	return identitytest.Password
}

// TestAccountRowMatrix: the account routes on a row, for every role and
// permission set: only the caller's own account exists for them (another
// account's id, or a missing one, is 404); they all read it, and only a
// super_admin renames it (403 for the others, changing nothing).
func TestAccountRowMatrix(t *testing.T) {
	e := identitytest.New(t, nil)
	a, b := e.Account("Acme"), e.Account("Beta")
	n := 0
	for _, c := range a.Callers() {
		for _, r := range []struct {
			method string
			ok     int
		}{{"GET", 200}, {"PATCH", 200}, {"PUT", 200}} {
			for _, tg := range []struct {
				name string
				identitytest.Target
			}{
				{"own", identitytest.Target{ID: a.ID, Readable: true, Owner: a.Owner.Token}},
				{"foreign", identitytest.Target{ID: b.ID, Owner: b.Owner.Token}},
				{"missing", identitytest.Target{ID: identitytest.MissingID}},
			} {
				t.Run(r.method+"/"+tg.name+"/"+c.Name(), func(t *testing.T) {
					req := apptest.Request{Method: r.method, Path: fmt.Sprintf("/api/accounts/%d/", tg.ID), Token: c.Token}
					if r.method != "GET" {
						n++
						req.Body = map[string]any{"name": fmt.Sprint("Acme ", n)}
					}
					want := identitytest.Answer(tg.Readable, r.method == "GET" || c.Role == "super_admin", r.ok)
					e.CheckRow(t, req, want, tg.Show(t, e, req.Path))
				})
			}
		}
	}
}
