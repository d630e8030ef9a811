package billing_test

import (
	"fmt"
	"net/http"
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
	readMine  = want{200, 200, 200, 200, 401} // a row of the employee's client
	readOther = want{200, 200, 404, 200, 401} // a row of a client the employee does not read
	created   = want{201, 201, 403, 403, 401}
	// A write of a row of a client the employee does not read is 404: the
	// row does not exist for them (TestRowMatrix has every role and
	// permission set).
	updatedOther = want{200, 200, 404, 403, 401}
	deletedOther = want{204, 204, 404, 403, 401}
	never        = want{405, 405, 405, 405, 405}
)

// TestRoleMatrix runs every billing route as every role.
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	mine, other := w.mine, w.other
	newIns := func() int64 { return w.instalment(t, other, 0, 1) }
	newSC := func() int64 { return w.stripeCustomer(t, other) }
	insBody := func() map[string]any {
		return map[string]any{"client": other, "amount": "12.34", "currency": "EUR", "schedule_date": "2025-03-01", "instalment_number": 7}
	}
	scBody := func() map[string]any {
		return map[string]any{"client": other, "stripe_customer_id": fmt.Sprintf("cus_m%d", seq.Add(1))}
	}
	cases := []identitytest.RoleCase{
		route("list payments", "GET", fixed("/api/payments/"), nil, readAll),
		route("payment statistics", "GET", fixed("/api/payments/statistics/"), nil, readAll),
		route("get my payment", "GET", fixed(path("/api/payments/%d/", w.pay[mine])), nil, readMine),
		route("get other payment", "GET", fixed(path("/api/payments/%d/", w.pay[other])), nil, readOther),
		route("create payment", "POST", fixed("/api/payments/"), func() map[string]any {
			return map[string]any{"client": other, "amount": 5, "currency": "USD"}
		}, created),
		route("change payment status", "PATCH", fixed(path("/api/payments/%d/", w.pay[other])), func() map[string]any {
			return map[string]any{"status": []string{"failed", "refunded", "disputed", "paid"}[seq.Add(1)%4]}
		}, updatedOther),
		route("delete payment", "DELETE", fixed(path("/api/payments/%d/", w.pay[mine])), nil, never),
		route("replace payment", "PUT", fixed(path("/api/payments/%d/", w.pay[mine])), func() map[string]any { return map[string]any{"status": "paid"} }, never),

		route("list instalments", "GET", fixed("/api/installments/"), nil, readAll),
		route("get my instalment", "GET", fixed(path("/api/installments/%d/", w.ins[mine])), nil, readMine),
		route("get other instalment", "GET", fixed(path("/api/installments/%d/", w.ins[other])), nil, readOther),
		route("create instalment", "POST", fixed("/api/installments/"), insBody, created),
		route("update instalment", "PATCH", fixed(path("/api/installments/%d/", w.ins[other])), func() map[string]any {
			return map[string]any{"amount": fmt.Sprintf("%d.00", seq.Add(1))}
		}, updatedOther),
		route("replace instalment", "PUT", func() string { return path("/api/installments/%d/", newIns()) }, insBody, updatedOther),
		route("delete instalment", "DELETE", func() string { return path("/api/installments/%d/", newIns()) }, nil, deletedOther),

		route("list stripe customers", "GET", fixed("/api/stripe-customers/"), nil, readAll),
		route("get my stripe customer", "GET", fixed(path("/api/stripe-customers/%d/", w.sc[mine])), nil, readMine),
		route("get other stripe customer", "GET", fixed(path("/api/stripe-customers/%d/", w.sc[other])), nil, readOther),
		route("create stripe customer", "POST", fixed("/api/stripe-customers/"), scBody, created),
		route("update stripe customer", "PATCH", fixed(path("/api/stripe-customers/%d/", w.sc[other])), func() map[string]any {
			return map[string]any{"status": []string{"active", "inactive"}[seq.Add(1)%2]}
		}, updatedOther),
		route("replace stripe customer", "PUT", func() string { return path("/api/stripe-customers/%d/", newSC()) }, scBody, updatedOther),
		route("delete stripe customer", "DELETE", func() string { return path("/api/stripe-customers/%d/", newSC()) }, nil, deletedOther),
	}
	e.CheckRoles(t, w.tokens, cases)
}

// TestRowMatrix: every billing route on a row, for every role and
// permission set, answers by the scope rule: 404 when the caller cannot
// read the row (missing, another account's, or of a client they do not
// read), else 403 unless they are an admin, else 2xx; a refused write
// changes nothing. Payments have no PUT nor DELETE (TestRoleMatrix: 405).
func TestRowMatrix(t *testing.T) {
	e := newEnv(t)
	a, b := e.Account("Acme"), e.Account("Beta")
	callers := a.Callers()
	clients := identitytest.NewClients(a, b, callers, func(token string, coach int64) int64 { return e.Client(t, token, coach) })
	pay := func(token string, c int64) int64 { return payment(t, e, token, c, "10.00", "USD", "paid") }
	ins := func(token string, c int64) int64 {
		return e.Create(t, token, "/api/installments/", insJSON(c))
	}
	sc := func(token string, c int64) int64 {
		return e.Create(t, token, "/api/stripe-customers/", scJSON(c))
	}
	routes := []struct {
		method, path string
		make         func(token string, client int64) int64
		body         func(client int64) any
		ok           int
	}{
		{"GET", "/api/payments/%d/", pay, nil, 200},
		{"PATCH", "/api/payments/%d/", pay, func(int64) any { return map[string]any{"status": "refunded"} }, 200},
		{"GET", "/api/installments/%d/", ins, nil, 200},
		{"PATCH", "/api/installments/%d/", ins, func(int64) any { return map[string]any{"status": "paid"} }, 200},
		{"PUT", "/api/installments/%d/", ins, func(c int64) any { return insJSON(c) }, 200},
		{"DELETE", "/api/installments/%d/", ins, nil, 204},
		{"GET", "/api/stripe-customers/%d/", sc, nil, 200},
		{"PATCH", "/api/stripe-customers/%d/", sc, func(int64) any { return map[string]any{"status": "inactive"} }, 200},
		{"PUT", "/api/stripe-customers/%d/", sc, func(c int64) any { return scJSON(c) }, 200},
		{"DELETE", "/api/stripe-customers/%d/", sc, nil, 204},
	}
	for _, c := range callers {
		for _, r := range routes {
			for _, target := range identitytest.ClientTargets {
				t.Run(r.method+r.path+"/"+target+"/"+c.Name(), func(t *testing.T) {
					var of int64
					tg := clients.Row(c, target, func(token string, client int64) int64 {
						of = client
						return r.make(token, client)
					})
					req := apptest.Request{Method: r.method, Path: path(r.path, tg.ID), Token: c.Token}
					if r.body != nil {
						req.Body = r.body(of)
					}
					e.CheckRow(t, req, identitytest.Answer(tg.Readable, r.method == "GET" || c.Admin(), r.ok), tg.Show(t, e, req.Path))
				})
			}
		}
	}
}

// insJSON and scJSON are an instalment and a Stripe customer of client c,
// each unique.
func insJSON(c int64) map[string]any {
	return map[string]any{"client": c, "amount": "10.00", "currency": "USD", "schedule_date": "2025-03-01", "instalment_number": 1 + seq.Add(1)%10000}
}

func scJSON(c int64) map[string]any {
	return map[string]any{"client": c, "stripe_customer_id": fmt.Sprintf("cus_r%d", seq.Add(1))}
}

var fixed, route = identitytest.Fixed, identitytest.Route

// TestVisibilityFollowsTheClient: an employee lists and counts only the rows
// of the clients they can read; view_all_clients and admins see all.
func TestVisibilityFollowsTheClient(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	for _, l := range []struct {
		path string
		rows map[int64]int64
	}{{"/api/payments/", w.pay}, {"/api/installments/", w.ins}, {"/api/stripe-customers/", w.sc}} {
		for role, want := range map[string][]int64{
			"employee":    {l.rows[w.mine]},
			"viewer":      {l.rows[w.mine], l.rows[w.other]},
			"admin":       {l.rows[w.mine], l.rows[w.other]},
			"super_admin": {l.rows[w.mine], l.rows[w.other]},
		} {
			got := e.IDs(t, w.tokens[role], l.path)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s as %s = %v, want %v", l.path, role, got, want)
			}
			// The client filter cannot reach past the restriction.
			if role == "employee" {
				if got := e.IDs(t, w.tokens[role], path("%s?client=%d", l.path, w.other)); len(got) != 0 {
					t.Errorf("%s?client=other as employee = %v", l.path, got)
				}
			}
		}
	}
	var st struct {
		TotalPayments int    `json:"total_payments"`
		TotalAmount   string `json:"total_amount"`
	}
	apptest.Expect(t, e.Get(w.tokens["employee"], "/api/payments/statistics/"), http.StatusOK).JSON(t, &st)
	if st.TotalPayments != 1 || st.TotalAmount != "100.00" {
		t.Fatalf("employee statistics = %+v", st)
	}
	apptest.Expect(t, e.Get(w.tokens["viewer"], "/api/payments/statistics/"), http.StatusOK).JSON(t, &st)
	if st.TotalPayments != 2 || st.TotalAmount != "200.00" {
		t.Fatalf("viewer statistics = %+v", st)
	}
}
