package catalog_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"

	"go.uber.org/fx"
)

// newEnv starts the app with clients and catalog, bound as cmd/crm binds them.
func newEnv(t *testing.T) *identitytest.Env {
	t.Helper()
	return identitytest.New(t, fx.Options(clients.Module, catalog.Module))
}

var seq atomic.Int64

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// world is an account with one caller per role, two clients (mine is coached
// by the employee, other by nobody), a package and a client package on each
// client.
type world struct {
	tokens map[string]string // role -> token ("anon" is empty)
	mine   int64
	other  int64
	pkg    int64
	cp     map[int64]int64 // client -> client package
}

func newWorld(t *testing.T, e *identitytest.Env, name string) *world {
	t.Helper()
	acme := e.Account(name)
	w := &world{cp: map[int64]int64{}}
	var emp identitytest.User
	w.tokens, emp = acme.RoleTokens()
	tok := acme.Owner.Token
	w.mine = e.Client(t, tok, emp.ID)
	w.other = e.Client(t, tok, 0)
	w.pkg = pkg(t, e, tok, name+" package")
	for _, c := range []int64{w.mine, w.other} {
		w.cp[c] = clientPackage(t, e, tok, c, w.pkg)
	}
	return w
}

func pkg(t *testing.T, e *identitytest.Env, token, name string) int64 {
	t.Helper()
	return e.Create(t, token, "/api/packages/", map[string]any{"package_name": name})
}

func clientPackage(t *testing.T, e *identitytest.Env, token string, c, p int64) int64 {
	t.Helper()
	return e.Create(t, token, "/api/client-packages/", cpBody(c, p))
}

func cpBody(c, p int64) map[string]any {
	return map[string]any{"client": c, "package": p, "custom_price": "1000.00", "monthly_payment_amount": "100.00",
		"payment_schedule": "Monthly", "start_date": "2025-01-01"}
}

// fieldErrors returns the fields a 400 names.
func fieldErrors(t *testing.T, r *apptest.Response) map[string][]string {
	t.Helper()
	return apptest.FieldErrors(t, apptest.Expect(t, r, http.StatusBadRequest))
}
