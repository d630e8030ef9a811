package clients_test

import (
	"net/http"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestClientRoleMatrix is the contract's role table for clients: one row a
// route and target, one column a caller. "mine" is a client assigned to the
// caller (as coach, closer or setter, in turn), "other" one assigned to
// somebody else. A client the caller cannot read is 404 for every method
// the caller may use at all; a caller whose policy allows no write (an
// employee, a viewer) gets 403 for every write, whatever the id, before any
// client is looked at (as the seed's DRF permission check does), so that
// answer tells nothing about the client either.
func TestClientRoleMatrix(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Matrix")
	somebody := a.Employee("employee")
	callers := []struct {
		name string
		user identitytest.User
	}{
		{"super_admin", a.Owner},
		{"admin", a.Employee("admin")},
		{"employee", a.Employee("employee")},
		{"employee+view_all_clients", a.Employee("employee", "view_all_clients")},
		{"employee+manage_all_clients", a.Employee("employee", "manage_all_clients")},
	}
	// want: one status per caller, in the order above.
	type want [5]int
	roles := []string{"coach", "closer", "setter"}
	cases := []struct {
		route  string
		target string // "mine", "other" or "" (no target)
		do     func(token string, id int64) *apptest.Response
		want   want
	}{
		{"list", "", func(tok string, _ int64) *apptest.Response { return e.Get(tok, "/api/clients/") }, want{200, 200, 200, 200, 200}},
		{"my_clients", "", func(tok string, _ int64) *apptest.Response { return e.Get(tok, "/api/clients/my_clients/") }, want{200, 200, 200, 200, 200}},
		{"statistics", "", func(tok string, _ int64) *apptest.Response { return e.Get(tok, "/api/clients/statistics/") }, want{200, 200, 200, 200, 200}},
		{"create", "", func(tok string, _ int64) *apptest.Response { return e.Post(tok, "/api/clients/", body()) }, want{201, 201, 403, 403, 201}},
		{"retrieve", "mine", func(tok string, id int64) *apptest.Response { return e.Get(tok, clientPath(id)) }, want{200, 200, 200, 200, 200}},
		{"retrieve", "other", func(tok string, id int64) *apptest.Response { return e.Get(tok, clientPath(id)) }, want{200, 200, 404, 200, 404}},
		{"patch", "mine", func(tok string, id int64) *apptest.Response {
			return e.Patch(tok, clientPath(id), map[string]any{"notes": "changed"})
		}, want{200, 200, 403, 403, 200}},
		{"patch", "other", func(tok string, id int64) *apptest.Response {
			return e.Patch(tok, clientPath(id), map[string]any{"notes": "changed"})
		}, want{200, 200, 404, 403, 404}},
		{"put", "mine", func(tok string, id int64) *apptest.Response { return e.Put(tok, clientPath(id), body("coach", nil)) }, want{200, 200, 403, 403, 200}},
		{"put", "other", func(tok string, id int64) *apptest.Response { return e.Put(tok, clientPath(id), body()) }, want{200, 200, 404, 403, 404}},
		{"delete", "mine", func(tok string, id int64) *apptest.Response { return e.Delete(tok, clientPath(id)) }, want{204, 204, 403, 403, 204}},
		{"delete", "other", func(tok string, id int64) *apptest.Response { return e.Delete(tok, clientPath(id)) }, want{204, 204, 404, 403, 404}},
	}
	for _, tc := range cases {
		for i, c := range callers {
			t.Run(tc.route+"/"+tc.target+"/"+c.name, func(t *testing.T) {
				var target clientJSON
				switch tc.target {
				case "mine":
					target = create(t, e, a.Owner.Token, body(roles[i%3], c.user.ID))
				case "other":
					target = create(t, e, a.Owner.Token, body("coach", somebody.ID, "closer", somebody.ID))
				}
				r := tc.do(c.user.Token, target.ID)
				if r.Status != tc.want[i] {
					t.Fatalf("%s %s as %s: status %d, want %d; body %s", tc.route, tc.target, c.name, r.Status, tc.want[i], r.Body)
				}
				if r.Status >= 400 {
					fieldErrors(t, r) // a JSON error with detail
				}
				if target.ID == 0 || r.Status < 400 {
					return
				}
				// A refused write changed nothing.
				var after clientJSON
				apptest.Expect(t, e.Get(a.Owner.Token, clientPath(target.ID)), http.StatusOK).JSON(t, &after)
				if after.Notes != target.Notes || after.LastName != target.LastName || after.UpdatedAt != target.UpdatedAt {
					t.Fatalf("refused %s changed the client: %+v", tc.route, after)
				}
			})
		}
	}
}

// TestVisibleSets checks what each caller's list, my_clients and statistics
// hold: exactly the clients they can read.
func TestVisibleSets(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Sets")
	admin := a.Employee("admin")
	emp := a.Employee("employee")
	viewer := a.Employee("employee", "view_all_clients")
	manager := a.Employee("employee", "manage_all_clients")

	asCoach := create(t, e, a.Owner.Token, body("coach", emp.ID))
	asCloser := create(t, e, a.Owner.Token, body("closer", emp.ID, "status", "paused"))
	asSetter := create(t, e, a.Owner.Token, body("setter", emp.ID, "coach", manager.ID))
	adminOnes := create(t, e, a.Owner.Token, body("coach", admin.ID))
	nobody := create(t, e, a.Owner.Token, body())
	all := []int64{asCoach.ID, asCloser.ID, asSetter.ID, adminOnes.ID, nobody.ID}

	check := func(name, token, path string, want ...int64) {
		t.Helper()
		p := list(t, e, token, path)
		got := ids(p)
		if p.Count != len(want) || len(got) != len(want) {
			t.Fatalf("%s %s: count %d, ids %v, want %v", name, path, p.Count, got, want)
		}
		for _, id := range want {
			if !got[id] {
				t.Fatalf("%s %s: %d missing from %v", name, path, id, got)
			}
		}
	}
	for _, u := range []struct {
		name  string
		token string
	}{{"super_admin", a.Owner.Token}, {"admin", admin.Token}, {"viewer", viewer.Token}} {
		check(u.name, u.token, "/api/clients/", all...)
		if s := stats(t, e, u.token, "/api/clients/statistics/"); s.Total != 5 || s.Active != 4 || s.Paused != 1 {
			t.Fatalf("%s statistics = %+v", u.name, s)
		}
	}
	check("employee", emp.Token, "/api/clients/", asCoach.ID, asCloser.ID, asSetter.ID)
	check("employee", emp.Token, "/api/clients/my_clients/", asCoach.ID, asCloser.ID, asSetter.ID)
	if s := stats(t, e, emp.Token, "/api/clients/statistics/"); s != (statsJSON{Total: 3, Active: 2, Paused: 1}) {
		t.Fatalf("employee statistics = %+v", s)
	}
	check("manager", manager.Token, "/api/clients/", asSetter.ID)
	check("admin", admin.Token, "/api/clients/my_clients/", adminOnes.ID)
	check("viewer", viewer.Token, "/api/clients/my_clients/")
	check("super_admin", a.Owner.Token, "/api/clients/my_clients/")
	// my_clients takes the list's filters.
	check("employee", emp.Token, "/api/clients/my_clients/?status=paused", asCloser.ID)
}
