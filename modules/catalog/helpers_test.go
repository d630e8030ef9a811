package catalog_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/platform/access"
	"crm/platform/apptest"

	"go.uber.org/fx"
)

// newEnv starts the app with clients and catalog, bound as cmd/crm binds them.
func newEnv(t *testing.T) *identitytest.Env {
	t.Helper()
	return identitytest.New(t, fx.Options(
		clients.Module,
		catalog.Module,
		fx.Provide(func(s *clients.Service) access.Clients { return s }),
	))
}

var seq atomic.Int64

// client creates a client through the API (as token) and returns its id;
// coach, when not zero, is assigned as its coach.
func client(t *testing.T, e *identitytest.Env, token string, coach int64) int64 {
	t.Helper()
	n := seq.Add(1)
	body := map[string]any{"first_name": "Client", "last_name": fmt.Sprint(n), "email": fmt.Sprintf("client%d@example.com", n)}
	if coach != 0 {
		body["coach"] = coach
	}
	return id(t, apptest.Expect(t, e.Post(token, "/api/clients/", body), http.StatusCreated))
}

func id(t *testing.T, r *apptest.Response) int64 {
	t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &out)
	if out.ID == 0 {
		t.Fatalf("no id in %s", r.Body)
	}
	return out.ID
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// world is an account with one user per role, two clients (mine is coached
// by the employee, other by nobody), a package and a client package on each
// client.
type world struct {
	tokens map[string]string // role -> token ("anon" is empty)
	mine   int64
	other  int64
	pkg    int64
	cp     map[int64]int64 // client -> client package
}

var roles = []string{"super_admin", "admin", "employee", "viewer", "anon"}

func newWorld(t *testing.T, e *identitytest.Env, name string) *world {
	t.Helper()
	acme := e.Account(name)
	emp := acme.Employee("employee")
	w := &world{cp: map[int64]int64{}, tokens: map[string]string{
		"super_admin": acme.Owner.Token,
		"admin":       acme.Employee("admin").Token,
		"employee":    emp.Token,
		"viewer":      acme.Employee("employee", "view_all_clients").Token,
		"anon":        "",
	}}
	tok := acme.Owner.Token
	w.mine = client(t, e, tok, emp.ID)
	w.other = client(t, e, tok, 0)
	w.pkg = pkg(t, e, tok, name+" package")
	for _, c := range []int64{w.mine, w.other} {
		w.cp[c] = clientPackage(t, e, tok, c, w.pkg)
	}
	return w
}

func pkg(t *testing.T, e *identitytest.Env, token, name string) int64 {
	t.Helper()
	return id(t, apptest.Expect(t, e.Post(token, "/api/packages/", map[string]any{"package_name": name}), http.StatusCreated))
}

func clientPackage(t *testing.T, e *identitytest.Env, token string, c, p int64) int64 {
	t.Helper()
	return id(t, apptest.Expect(t, e.Post(token, "/api/client-packages/", cpBody(c, p)), http.StatusCreated))
}

func cpBody(c, p int64) map[string]any {
	return map[string]any{"client": c, "package": p, "custom_price": "1000.00", "monthly_payment_amount": "100.00",
		"payment_schedule": "Monthly", "start_date": "2025-01-01"}
}

// ids returns the ids of a list's results (one page of up to 200).
func ids(t *testing.T, e *identitytest.Env, token, listPath string) []int64 {
	t.Helper()
	sep := "?"
	if strings.Contains(listPath, "?") {
		sep = "&"
	}
	var page struct {
		Count   int `json:"count"`
		Results []struct {
			ID int64 `json:"id"`
		} `json:"results"`
	}
	apptest.Expect(t, e.Get(token, listPath+sep+"page_size=200"), http.StatusOK).JSON(t, &page)
	out := make([]int64, 0, len(page.Results))
	for _, x := range page.Results {
		out = append(out, x.ID)
	}
	if page.Count != len(out) {
		t.Fatalf("%s: count %d, %d results", listPath, page.Count, len(out))
	}
	return out
}

// count returns how many rows table holds (all accounts).
func count(t *testing.T, e *identitytest.Env, table string) int {
	t.Helper()
	n, err := e.DB.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// wantDetail fails unless r is a JSON error with a detail.
func wantDetail(t *testing.T, r *apptest.Response) map[string]any {
	t.Helper()
	m := r.Map(t)
	if d, _ := m["detail"].(string); d == "" {
		t.Fatalf("no detail in %s", r)
	}
	return m
}

// fieldErrors returns the fields a 400 names.
func fieldErrors(t *testing.T, r *apptest.Response) map[string]any {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %s, want 400", r)
	}
	errs, _ := wantDetail(t, r)["errors"].(map[string]any)
	return errs
}
