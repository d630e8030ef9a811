package identitytest

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"crm/platform/apptest"
)

// The role matrices: every route on a row, for every role and permission set
// (Callers), answers by the contract's scope rule (Answer). What a caller
// may read and write is written here from the contract's role table, apart
// from the code that decides it.

// Caller is one column of a role matrix: an employee of a role with a set
// of granted permissions, signed in.
type Caller struct {
	User
	Permissions []string
}

// Name is the caller's column name, e.g. "employee+view_all_clients".
func (c Caller) Name() string {
	return strings.Join(append([]string{c.Role}, c.Permissions...), "+")
}

// Admin tells whether the caller is an admin or a super_admin.
func (c Caller) Admin() bool { return c.Role == "admin" || c.Role == "super_admin" }

// ReadsAllClients: admins, and employees with view_all_clients, read every
// client of the account (and every row of those clients); other employees
// read the clients assigned to them.
func (c Caller) ReadsAllClients() bool {
	return c.Admin() || slices.Contains(c.Permissions, "view_all_clients")
}

// WritesClients: admins, and employees with manage_all_clients, create,
// update and delete clients (among those they read).
func (c Caller) WritesClients() bool {
	return c.Admin() || slices.Contains(c.Permissions, "manage_all_clients")
}

// PermissionSets are the permission sets of the matrices: none, each, both.
var PermissionSets = [][]string{nil, {"view_all_clients"}, {"manage_all_clients"}, {"view_all_clients", "manage_all_clients"}}

// Callers creates the matrices' callers in the tenant: for each role
// (super_admin, admin, employee), one employee per permission set.
func (t *Tenant) Callers() []Caller {
	var out []Caller
	for _, role := range []string{"super_admin", "admin", "employee"} {
		for _, perms := range PermissionSets {
			out = append(out, Caller{User: t.Employee(role, perms...), Permissions: perms})
		}
	}
	return out
}

// Answer is the scope rule's answer for a route on one row: 404 when the
// caller cannot read the row (missing, another account's, or not visible
// to them), else 403 when they may not do the route's action on it, else ok.
func Answer(readable, allowed bool, ok int) int {
	switch {
	case !readable:
		return http.StatusNotFound
	case !allowed:
		return http.StatusForbidden
	}
	return ok
}

// CheckRow sends r and fails t unless the status is want. A refusal must be
// a JSON error with a detail, and must change nothing: show, when not nil,
// returns the row as its account's super_admin reads it, before and after.
func (e *Env) CheckRow(t *testing.T, r apptest.Request, want int, show func() string) {
	t.Helper()
	before := ""
	if show != nil {
		before = show()
	}
	got := e.Do(r)
	if got.Status != want {
		t.Fatalf("%s %s = %s, want %d", r.Method, r.Path, got, want)
	}
	if got.Status < 400 {
		return
	}
	if d, _ := got.Map(t)["detail"].(string); d == "" {
		t.Fatalf("%s %s: no detail in %s", r.Method, r.Path, got)
	}
	if show != nil {
		if after := show(); after != before {
			t.Fatalf("refused %s %s changed the row:\nbefore %s\nafter  %s", r.Method, r.Path, before, after)
		}
	}
}

// Shown returns a show for CheckRow: the row at path as token reads it
// (200, or the test fails).
func (e *Env) Shown(t *testing.T, token, path string) func() string {
	return func() string {
		t.Helper()
		return string(apptest.Expect(t, e.Get(token, path), http.StatusOK).Body)
	}
}

// MissingID is an id no row of any test has.
const MissingID = 987654321

// Target is the row a matrix case acts on.
type Target struct {
	ID int64
	// Readable: the caller reads the row.
	Readable bool
	// Owner is the token of the super_admin of the row's account ("" for a
	// missing row).
	Owner string
}

// Show is the CheckRow show of the target at path (nil for a missing row).
func (tg Target) Show(t *testing.T, e *Env, path string) func() string {
	if tg.Owner == "" {
		return nil
	}
	return e.Shown(t, tg.Owner, path)
}

// ClientTargets are the targets of a route on a row that belongs to a
// client: "mine" (of a client assigned to the caller), "other" (of a client
// of the account assigned to somebody else), "missing", and "foreign" (of
// another account's client).
var ClientTargets = []string{"mine", "other", "missing", "foreign"}

// Clients are the clients of the ClientTargets.
type Clients struct {
	A, B    *Tenant
	Mine    map[int64]int64 // caller -> a client of A assigned to them
	Other   int64           // a client of A assigned to none of the callers
	Foreign int64           // a client of B
}

// Row makes, with make (as the super_admin of the row's account, for its
// client), the row target names for c.
func (cl *Clients) Row(c Caller, target string, make func(token string, client int64) int64) Target {
	a, b := cl.A.Owner.Token, cl.B.Owner.Token
	switch target {
	case "mine":
		return Target{ID: make(a, cl.Mine[c.ID]), Readable: true, Owner: a}
	case "other":
		return Target{ID: make(a, cl.Other), Readable: c.ReadsAllClients(), Owner: a}
	case "foreign":
		return Target{ID: make(b, cl.Foreign), Owner: b}
	}
	return Target{ID: MissingID}
}

// NewClients makes the clients of the ClientTargets for the callers of a
// (b is another account) with client (as token, coached by coach).
func NewClients(a, b *Tenant, callers []Caller, client func(token string, coach int64) int64) *Clients {
	cl := &Clients{A: a, B: b, Mine: map[int64]int64{}}
	for _, c := range callers {
		cl.Mine[c.ID] = client(a.Owner.Token, c.ID)
	}
	cl.Other = client(a.Owner.Token, a.Employee("employee").ID)
	cl.Foreign = client(b.Owner.Token, b.Owner.ID)
	return cl
}

// Roles are the columns of a role matrix (RoleTokens): super_admin, admin,
// employee, viewer (an employee with view_all_clients), anon (no token).
var Roles = []string{"super_admin", "admin", "employee", "viewer", "anon"}

// RoleTokens signs in one caller of each of Roles in the tenant and returns
// their tokens, and the employee (the one of role "employee").
func (t *Tenant) RoleTokens() (map[string]string, User) {
	emp := t.Employee("employee")
	return map[string]string{
		"super_admin": t.Owner.Token,
		"admin":       t.Employee("admin").Token,
		"employee":    emp.Token,
		"viewer":      t.Employee("employee", "view_all_clients").Token,
		"anon":        "",
	}, emp
}

// RoleCase is a row of a role matrix: a route, sent as each of Roles.
type RoleCase struct {
	Name   string
	Method string
	Path   func() string
	// Body, when not nil, makes the request's body.
	Body func() map[string]any
	// Want is the status for each of Roles, in their order.
	Want [5]int
}

// Route is a RoleCase.
func Route(name, method string, path func() string, body func() map[string]any, want [5]int) RoleCase {
	return RoleCase{Name: name, Method: method, Path: path, Body: body, Want: want}
}

// Fixed is a RoleCase path that is always p.
func Fixed(p string) func() string { return func() string { return p } }

// CheckRoles sends every case as every role (tokens from RoleTokens) in a
// subtest of its own, and fails unless the status is the case's; a refusal
// must be a JSON error with a detail.
func (e *Env) CheckRoles(t *testing.T, tokens map[string]string, cases []RoleCase) {
	for _, c := range cases {
		for i, role := range Roles {
			t.Run(c.Name+"/"+role, func(t *testing.T) {
				req := apptest.Request{Method: c.Method, Path: c.Path(), Token: tokens[role]}
				if c.Body != nil {
					req.Body = c.Body()
				}
				r := e.Do(req)
				if r.Status != c.Want[i] {
					t.Fatalf("%s %s as %s = %s, want %d", req.Method, req.Path, role, r, c.Want[i])
				}
				if r.Status >= 400 {
					apptest.WantDetail(t, r)
				}
			})
		}
	}
}
