package clients_test

import (
	"net/http"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestClientRoleMatrix is the contract's role table for clients, for every
// role and permission set (identitytest.Callers). A route on a client
// answers by the scope rule: 404 when the caller cannot read the client
// (missing, another account's, or not visible to them: "mine" is assigned
// to the caller, as coach, closer or setter in turn, "other" to somebody
// else), else 403 when they may not write it, else 2xx; a refused write
// changes nothing.
func TestClientRoleMatrix(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Matrix")
	b := e.Account("Beta")
	somebody := a.Employee("employee")
	callers := a.Callers()
	roles := []string{"coach", "closer", "setter"}
	for i, c := range callers {
		t.Run("lists/"+c.Name(), func(t *testing.T) {
			for _, p := range []string{"/api/clients/", "/api/clients/my_clients/", "/api/clients/statistics/"} {
				apptest.Expect(t, e.Get(c.Token, p), http.StatusOK)
			}
			e.CheckRow(t, apptest.Request{Method: "POST", Path: "/api/clients/", Token: c.Token, Body: body()},
				identitytest.Answer(true, c.WritesClients(), http.StatusCreated), nil)
		})
		for _, route := range []struct {
			method string
			body   func() any
			ok     int
		}{
			{"GET", nil, http.StatusOK},
			{"PATCH", func() any { return map[string]any{"notes": "changed"} }, http.StatusOK},
			// A PUT of their own client leaves it unassigned (a writer's
			// write scope reaches every client they read).
			{"PUT", func() any { return body("coach", nil) }, http.StatusOK},
			{"DELETE", nil, http.StatusNoContent},
		} {
			for _, target := range []string{"mine", "other", "missing", "foreign"} {
				t.Run(route.method+"/"+target+"/"+c.Name(), func(t *testing.T) {
					tg := identitytest.Target{ID: identitytest.MissingID}
					switch target {
					case "mine":
						tg = identitytest.Target{ID: create(t, e, a.Owner.Token, body(roles[i%3], c.ID)).ID, Readable: true, Owner: a.Owner.Token}
					case "other":
						tg = identitytest.Target{ID: create(t, e, a.Owner.Token, body("coach", somebody.ID, "closer", somebody.ID)).ID,
							Readable: c.ReadsAllClients(), Owner: a.Owner.Token}
					case "foreign":
						tg = identitytest.Target{ID: create(t, e, b.Owner.Token, body()).ID, Owner: b.Owner.Token}
					}
					r := apptest.Request{Method: route.method, Path: clientPath(tg.ID), Token: c.Token}
					if route.body != nil {
						r.Body = route.body()
					}
					allowed := route.method == "GET" || c.WritesClients()
					e.CheckRow(t, r, identitytest.Answer(tg.Readable, allowed, route.ok), tg.Show(t, e, r.Path))
				})
			}
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
