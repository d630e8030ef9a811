package catalog_test

import (
	"fmt"
	"slices"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// statuses per role, in the order of identitytest.Roles: super_admin, admin, employee,
// viewer (employee with view_all_clients), anon.
type want [5]int

var (
	readAll   = want{200, 200, 200, 200, 401}
	readOther = want{200, 200, 404, 200, 401} // a row of a client the employee does not read
	created   = want{201, 201, 403, 403, 401}
	updated   = want{200, 200, 403, 403, 401}
	deleted   = want{204, 204, 403, 403, 401}
	// A write of a client package of a client the employee does not read is
	// 404: the row does not exist for them (TestRowMatrix has every role
	// and permission set).
	updatedOther = want{200, 200, 404, 403, 401}
	deletedOther = want{204, 204, 404, 403, 401}
)

// TestRoleMatrix runs every catalog route as every role.
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	owner := w.tokens["super_admin"]
	newPkg := func() int64 { return pkg(t, e, owner, fmt.Sprint("spare ", seq.Add(1))) }
	newCP := func() int64 { return clientPackage(t, e, owner, w.other, w.pkg) }
	cases := []identitytest.RoleCase{
		route("list packages", "GET", fixed("/api/packages/"), nil, readAll),
		route("get package", "GET", fixed(path("/api/packages/%d/", w.pkg)), nil, readAll),
		route("create package", "POST", fixed("/api/packages/"), func() map[string]any { return map[string]any{"package_name": "New"} }, created),
		route("update package", "PATCH", fixed(path("/api/packages/%d/", w.pkg)), func() map[string]any {
			return map[string]any{"description": fmt.Sprint("d", seq.Add(1))}
		}, updated),
		route("replace package", "PUT", func() string { return path("/api/packages/%d/", newPkg()) }, func() map[string]any {
			return map[string]any{"package_name": "Replaced"}
		}, updated),
		route("delete package", "DELETE", func() string { return path("/api/packages/%d/", newPkg()) }, nil, deleted),

		route("list client packages", "GET", fixed("/api/client-packages/"), nil, readAll),
		route("get my client package", "GET", fixed(path("/api/client-packages/%d/", w.cp[w.mine])), nil, readAll),
		route("get other client package", "GET", fixed(path("/api/client-packages/%d/", w.cp[w.other])), nil, readOther),
		route("create client package", "POST", fixed("/api/client-packages/"), func() map[string]any { return cpBody(w.other, w.pkg) }, created),
		route("update client package", "PATCH", fixed(path("/api/client-packages/%d/", w.cp[w.other])), func() map[string]any {
			return map[string]any{"custom_price": fmt.Sprint(seq.Add(1))}
		}, updatedOther),
		route("replace client package", "PUT", func() string { return path("/api/client-packages/%d/", newCP()) }, func() map[string]any {
			return cpBody(w.other, w.pkg)
		}, updatedOther),
		route("delete client package", "DELETE", func() string { return path("/api/client-packages/%d/", newCP()) }, nil, deletedOther),
	}
	e.CheckRoles(t, w.tokens, cases)
}

// TestRowMatrix: every catalog route on a row, for every role and
// permission set, answers by the scope rule: 404 when the caller cannot
// read the row (missing, another account's, or a client package of a
// client they do not read), else 403 unless they are an admin, else 2xx; a
// refused write changes nothing.
func TestRowMatrix(t *testing.T) {
	e := newEnv(t)
	a, b := e.Account("Acme"), e.Account("Beta")
	callers := a.Callers()
	clients := identitytest.NewClients(a, b, callers, func(token string, coach int64) int64 { return e.Client(t, token, coach) })
	pkgOf := map[string]int64{a.Owner.Token: pkg(t, e, a.Owner.Token, "Acme's"), b.Owner.Token: pkg(t, e, b.Owner.Token, "Beta's")}
	type route struct {
		method string
		path   string
		body   func(pkg int64, client int64) any
		ok     int
	}
	packages := []route{
		{"GET", "/api/packages/%d/", nil, 200},
		{"PATCH", "/api/packages/%d/", func(int64, int64) any { return map[string]any{"description": "changed"} }, 200},
		{"PUT", "/api/packages/%d/", func(int64, int64) any { return map[string]any{"package_name": "Replaced"} }, 200},
		{"DELETE", "/api/packages/%d/", nil, 204},
	}
	clientPackages := []route{
		{"GET", "/api/client-packages/%d/", nil, 200},
		{"PATCH", "/api/client-packages/%d/", func(int64, int64) any { return map[string]any{"status": "inactive"} }, 200},
		{"PUT", "/api/client-packages/%d/", func(p, c int64) any { return cpBody(c, p) }, 200},
		{"DELETE", "/api/client-packages/%d/", nil, 204},
	}
	run := func(t *testing.T, c identitytest.Caller, r route, tg identitytest.Target, client int64) {
		req := apptest.Request{Method: r.method, Path: path(r.path, tg.ID), Token: c.Token}
		if r.body != nil {
			req.Body = r.body(pkgOf[a.Owner.Token], client)
		}
		e.CheckRow(t, req, identitytest.Answer(tg.Readable, r.method == "GET" || c.Admin(), r.ok), tg.Show(t, e, req.Path))
	}
	for _, c := range callers {
		for _, r := range packages {
			for _, target := range []string{"account", "missing", "foreign"} {
				t.Run("packages/"+r.method+"/"+target+"/"+c.Name(), func(t *testing.T) {
					tg := identitytest.Target{ID: identitytest.MissingID}
					switch target {
					case "account":
						tg = identitytest.Target{ID: pkg(t, e, a.Owner.Token, "spare"), Readable: true, Owner: a.Owner.Token}
					case "foreign":
						tg = identitytest.Target{ID: pkg(t, e, b.Owner.Token, "theirs"), Owner: b.Owner.Token}
					}
					run(t, c, r, tg, 0)
				})
			}
		}
		for _, r := range clientPackages {
			for _, target := range identitytest.ClientTargets {
				t.Run("client-packages/"+r.method+"/"+target+"/"+c.Name(), func(t *testing.T) {
					var of int64
					tg := clients.Row(c, target, func(token string, client int64) int64 {
						of = client
						return clientPackage(t, e, token, client, pkgOf[token])
					})
					run(t, c, r, tg, of)
				})
			}
		}
	}
}

var fixed, route = identitytest.Fixed, identitytest.Route

// TestClientPackagesFollowTheClient: an employee lists only the client
// packages of the clients they read; everybody lists every package.
func TestClientPackagesFollowTheClient(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	for role, want := range map[string][]int64{
		"employee": {w.cp[w.mine]},
		"viewer":   {w.cp[w.mine], w.cp[w.other]},
		"admin":    {w.cp[w.mine], w.cp[w.other]},
	} {
		got := e.IDs(t, w.tokens[role], "/api/client-packages/")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("client packages as %s = %v, want %v", role, got, want)
		}
		if got := e.IDs(t, w.tokens[role], "/api/packages/"); !slices.Equal(got, []int64{w.pkg}) {
			t.Errorf("packages as %s = %v", role, got)
		}
	}
	if got := e.IDs(t, w.tokens["employee"], path("/api/client-packages/?client=%d", w.other)); len(got) != 0 {
		t.Errorf("employee filtering on another client = %v", got)
	}
}
