package billing_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"crm/modules/billing"
	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/platform/access"
	"crm/platform/apptest"

	"go.uber.org/fx"
)

// newEnv starts the app with clients, catalog and billing, bound as cmd/crm
// binds them.
func newEnv(t *testing.T, opts ...apptest.Option) *identitytest.Env {
	t.Helper()
	return newEnvWith(t, fx.Options(), opts...)
}

// newEnvWith adds more modules (the audit log, for the journal tests).
func newEnvWith(t *testing.T, extra fx.Option, opts ...apptest.Option) *identitytest.Env {
	t.Helper()
	return identitytest.New(t, fx.Options(
		clients.Module,
		catalog.Module,
		billing.Module,
		fx.Provide(
			func(s *clients.Service) access.Clients { return s },
			func(s *catalog.Service) billing.ClientPackages { return s },
		),
		extra,
	), opts...)
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

// payment records a payment through the API and returns its id.
func payment(t *testing.T, e *identitytest.Env, token string, clientID int64, amount any, currency, status string) int64 {
	t.Helper()
	return id(t, apptest.Expect(t, e.Post(token, "/api/payments/", map[string]any{
		"client": clientID, "amount": amount, "currency": currency, "status": status, "payment_date": "2025-01-15",
	}), http.StatusCreated))
}

// world is an account with one user per role, two clients (mine is coached
// by the employee, other by nobody) and one billing row of each kind on
// each client.
type world struct {
	e      *identitytest.Env
	acme   *identitytest.Tenant
	tokens map[string]string // role -> token ("anon" is empty)
	mine   int64
	other  int64
	pkg    int64
	cp     map[int64]int64 // client -> client package
	pay    map[int64]int64 // client -> payment
	ins    map[int64]int64 // client -> instalment
	sc     map[int64]int64 // client -> Stripe customer
}

// roles of the matrix: viewer is an employee with view_all_clients.
var roles = []string{"super_admin", "admin", "employee", "viewer", "anon"}

func newWorld(t *testing.T, e *identitytest.Env, name string) *world {
	t.Helper()
	w := &world{e: e, acme: e.Account(name), cp: map[int64]int64{}, pay: map[int64]int64{}, ins: map[int64]int64{}, sc: map[int64]int64{}}
	emp := w.acme.Employee("employee")
	w.tokens = map[string]string{
		"super_admin": w.acme.Owner.Token,
		"admin":       w.acme.Employee("admin").Token,
		"employee":    emp.Token,
		"viewer":      w.acme.Employee("employee", "view_all_clients").Token,
		"anon":        "",
	}
	tok := w.acme.Owner.Token
	w.mine = client(t, e, tok, emp.ID)
	w.other = client(t, e, tok, 0)
	w.pkg = id(t, apptest.Expect(t, e.Post(tok, "/api/packages/", map[string]any{"package_name": "Growth"}), http.StatusCreated))
	for _, c := range []int64{w.mine, w.other} {
		w.cp[c] = w.clientPackage(t, c)
		w.pay[c] = payment(t, e, tok, c, "100.00", "USD", "paid")
		w.ins[c] = w.instalment(t, c, w.cp[c], 1)
		w.sc[c] = w.stripeCustomer(t, c)
	}
	return w
}

func (w *world) clientPackage(t *testing.T, c int64) int64 {
	t.Helper()
	return id(t, apptest.Expect(t, w.e.Post(w.acme.Owner.Token, "/api/client-packages/", map[string]any{
		"client": c, "package": w.pkg, "custom_price": "1000.00", "monthly_payment_amount": "100.00",
		"payment_schedule": "Monthly", "start_date": "2025-01-01",
	}), http.StatusCreated))
}

// instalment schedules one (of client package cp unless 0).
func (w *world) instalment(t *testing.T, c, cp int64, n int) int64 {
	t.Helper()
	body := map[string]any{"client": c, "amount": "100.00", "currency": "USD", "schedule_date": "2025-02-01", "instalment_number": n}
	if cp != 0 {
		body["client_package"] = cp
	}
	return id(t, apptest.Expect(t, w.e.Post(w.acme.Owner.Token, "/api/installments/", body), http.StatusCreated))
}

func (w *world) stripeCustomer(t *testing.T, c int64) int64 {
	t.Helper()
	return id(t, apptest.Expect(t, w.e.Post(w.acme.Owner.Token, "/api/stripe-customers/", map[string]any{
		"client": c, "stripe_customer_id": fmt.Sprintf("cus_%d", seq.Add(1)), "email": "billing@example.com",
	}), http.StatusCreated))
}

// ids returns the ids of a list's results (one page of up to 200).
func ids(t *testing.T, e *identitytest.Env, token, listPath string) []int64 {
	t.Helper()
	sep := "?"
	if strings.Contains(listPath, "?") {
		sep = "&"
	}
	r := apptest.Expect(t, e.Get(token, listPath+sep+"page_size=200"), http.StatusOK)
	var page struct {
		Count   int `json:"count"`
		Results []struct {
			ID int64 `json:"id"`
		} `json:"results"`
	}
	r.JSON(t, &page)
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
