package billing_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"crm/modules/billing"
	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
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
	return identitytest.New(t, fx.Options(clients.Module, catalog.Module, billing.Module, extra), opts...)
}

var seq atomic.Int64

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// payment records a payment through the API and returns its id.
func payment(t *testing.T, e *identitytest.Env, token string, clientID int64, amount any, currency, status string) int64 {
	t.Helper()
	return e.Create(t, token, "/api/payments/", map[string]any{
		"client": clientID, "amount": amount, "currency": currency, "status": status, "payment_date": "2025-01-15",
	})
}

// world is an account with one caller per role, two clients (mine is coached
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

func newWorld(t *testing.T, e *identitytest.Env, name string) *world {
	t.Helper()
	w := &world{e: e, acme: e.Account(name), cp: map[int64]int64{}, pay: map[int64]int64{}, ins: map[int64]int64{}, sc: map[int64]int64{}}
	var emp identitytest.User
	w.tokens, emp = w.acme.RoleTokens()
	tok := w.acme.Owner.Token
	w.mine = e.Client(t, tok, emp.ID)
	w.other = e.Client(t, tok, 0)
	w.pkg = e.Create(t, tok, "/api/packages/", map[string]any{"package_name": "Growth"})
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
	return w.e.Create(t, w.acme.Owner.Token, "/api/client-packages/", map[string]any{
		"client": c, "package": w.pkg, "custom_price": "1000.00", "monthly_payment_amount": "100.00",
		"payment_schedule": "Monthly", "start_date": "2025-01-01",
	})
}

// instalment schedules one (of client package cp unless 0).
func (w *world) instalment(t *testing.T, c, cp int64, n int) int64 {
	t.Helper()
	body := map[string]any{"client": c, "amount": "100.00", "currency": "USD", "schedule_date": "2025-02-01", "instalment_number": n}
	if cp != 0 {
		body["client_package"] = cp
	}
	return w.e.Create(t, w.acme.Owner.Token, "/api/installments/", body)
}

func (w *world) stripeCustomer(t *testing.T, c int64) int64 {
	t.Helper()
	return w.e.Create(t, w.acme.Owner.Token, "/api/stripe-customers/", map[string]any{
		"client": c, "stripe_customer_id": fmt.Sprintf("cus_%d", seq.Add(1)), "email": "billing@example.com",
	})
}
