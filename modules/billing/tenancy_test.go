package billing_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"crm/platform/apptest"
)

// TestOtherAccountIsInvisible: another account's rows are 404 on every
// route, absent from every list and statistic, and as a reference in a body
// the same 400 as an id that does not exist.
func TestOtherAccountIsInvisible(t *testing.T) {
	e := newEnv(t)
	acme := newWorld(t, e, "Acme")
	globex := newWorld(t, e, "Globex")
	tok := acme.tokens["super_admin"]
	g := globex.other

	for _, c := range []struct{ method, path string }{
		{"GET", path("/api/payments/%d/", globex.pay[g])},
		{"PATCH", path("/api/payments/%d/", globex.pay[g])},
		{"GET", path("/api/installments/%d/", globex.ins[g])},
		{"PATCH", path("/api/installments/%d/", globex.ins[g])},
		{"PUT", path("/api/installments/%d/", globex.ins[g])},
		{"DELETE", path("/api/installments/%d/", globex.ins[g])},
		{"GET", path("/api/stripe-customers/%d/", globex.sc[g])},
		{"PATCH", path("/api/stripe-customers/%d/", globex.sc[g])},
		{"PUT", path("/api/stripe-customers/%d/", globex.sc[g])},
		{"DELETE", path("/api/stripe-customers/%d/", globex.sc[g])},
		{"GET", path("/api/client-packages/%d/", globex.cp[g])},
		{"PATCH", path("/api/client-packages/%d/", globex.cp[g])},
		{"DELETE", path("/api/client-packages/%d/", globex.cp[g])},
		{"GET", path("/api/packages/%d/", globex.pkg)},
		{"PATCH", path("/api/packages/%d/", globex.pkg)},
		{"DELETE", path("/api/packages/%d/", globex.pkg)},
	} {
		var body any
		if c.method == "PATCH" || c.method == "PUT" {
			body = map[string]any{"status": "paid"}
		}
		r := e.Do(apptest.Request{Method: c.method, Path: c.path, Token: tok, Body: body})
		if r.Status != http.StatusNotFound {
			t.Errorf("%s %s as another account = %s, want 404", c.method, c.path, r)
		}
	}
	// Nothing of Globex changed.
	var p struct {
		Status string `json:"status"`
	}
	apptest.Expect(t, e.Get(globex.tokens["super_admin"], path("/api/payments/%d/", globex.pay[g])), http.StatusOK).JSON(t, &p)
	if p.Status != "paid" {
		t.Fatalf("Globex payment changed: %+v", p)
	}

	for _, l := range []struct {
		path string
		own  map[int64]int64
	}{{"/api/payments/", acme.pay}, {"/api/installments/", acme.ins}, {"/api/stripe-customers/", acme.sc}, {"/api/client-packages/", acme.cp}} {
		for _, q := range []string{"", path("?client=%d", g)} {
			for _, got := range e.IDs(t, tok, l.path+q) {
				if got != l.own[acme.mine] && got != l.own[acme.other] {
					t.Errorf("%s%s lists %d, not Acme's", l.path, q, got)
				}
			}
		}
	}
	if got := e.IDs(t, tok, "/api/packages/"); !slices.Equal(got, []int64{acme.pkg}) {
		t.Errorf("packages = %v", got)
	}
	var st struct {
		TotalPayments int    `json:"total_payments"`
		TotalAmount   string `json:"total_amount"`
	}
	apptest.Expect(t, e.Get(tok, "/api/payments/statistics/"), http.StatusOK).JSON(t, &st)
	if st.TotalPayments != 2 || st.TotalAmount != "200.00" {
		t.Fatalf("statistics see another account: %+v", st)
	}
	apptest.Expect(t, e.Get(tok, path("/api/payments/statistics/?client=%d", g)), http.StatusOK).JSON(t, &st)
	if st.TotalPayments != 0 || st.TotalAmount != "0.00" {
		t.Fatalf("statistics of another account's client: %+v", st)
	}
}

// TestForeignReferenceIsMissingReference: a body naming another account's
// client, package or client package gets exactly the 400 of an id that does
// not exist, and nothing is written.
func TestForeignReferenceIsMissingReference(t *testing.T) {
	e := newEnv(t)
	acme := newWorld(t, e, "Acme")
	globex := newWorld(t, e, "Globex")
	tok := acme.tokens["super_admin"]
	const missing = 999999
	cases := []struct {
		name, method, path, field string
		body                      func(ref int64) map[string]any
		foreign                   int64
	}{
		{"payment client", "POST", "/api/payments/", "client", func(ref int64) map[string]any {
			return map[string]any{"client": ref, "amount": 1, "currency": "USD"}
		}, globex.mine},
		{"instalment client", "POST", "/api/installments/", "client", func(ref int64) map[string]any {
			return map[string]any{"client": ref, "amount": 1, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 9}
		}, globex.mine},
		{"instalment client package", "POST", "/api/installments/", "client_package", func(ref int64) map[string]any {
			return map[string]any{"client": acme.mine, "client_package": ref, "amount": 1, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 9}
		}, globex.cp[globex.mine]},
		{"instalment client package (patch)", "PATCH", path("/api/installments/%d/", acme.ins[acme.mine]), "client_package", func(ref int64) map[string]any {
			return map[string]any{"client_package": ref}
		}, globex.cp[globex.mine]},
		{"instalment client (patch)", "PATCH", path("/api/installments/%d/", acme.ins[acme.mine]), "client", func(ref int64) map[string]any {
			return map[string]any{"client": ref, "client_package": nil}
		}, globex.mine},
		{"stripe customer client", "POST", "/api/stripe-customers/", "client", func(ref int64) map[string]any {
			return map[string]any{"client": ref, "stripe_customer_id": "cus_x"}
		}, globex.mine},
		{"stripe customer client (patch)", "PATCH", path("/api/stripe-customers/%d/", acme.sc[acme.mine]), "client", func(ref int64) map[string]any {
			return map[string]any{"client": ref}
		}, globex.mine},
		{"client package client", "POST", "/api/client-packages/", "client", func(ref int64) map[string]any {
			return map[string]any{"client": ref, "package": acme.pkg, "custom_price": 1, "payment_schedule": "PIF", "start_date": "2025-01-01"}
		}, globex.mine},
		{"client package package", "POST", "/api/client-packages/", "package", func(ref int64) map[string]any {
			return map[string]any{"client": acme.mine, "package": ref, "custom_price": 1, "payment_schedule": "PIF", "start_date": "2025-01-01"}
		}, globex.pkg},
		{"client package package (patch)", "PATCH", path("/api/client-packages/%d/", acme.cp[acme.mine]), "package", func(ref int64) map[string]any {
			return map[string]any{"package": ref}
		}, globex.pkg},
	}
	tables := []string{"payments", "instalments", "stripe_customers", "client_packages"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = e.Count(t, tb)
	}
	for _, c := range cases {
		norm := func(r *apptest.Response, ref int64) string {
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s with %d = %s, want 400", c.name, ref, r)
			}
			m := apptest.WantDetail(t, r)
			if _, ok := m["errors"].(map[string]any)[c.field]; !ok {
				t.Fatalf("%s: no error on %s: %s", c.name, c.field, r)
			}
			return strings.ReplaceAll(string(r.Body), strconv.FormatInt(ref, 10), "ID")
		}
		foreign := norm(e.Do(apptest.Request{Method: c.method, Path: c.path, Token: tok, Body: c.body(c.foreign)}), c.foreign)
		absent := norm(e.Do(apptest.Request{Method: c.method, Path: c.path, Token: tok, Body: c.body(missing)}), missing)
		if foreign != absent {
			t.Errorf("%s: another account's id answers %s, a missing id %s", c.name, foreign, absent)
		}
	}
	for _, tb := range tables {
		if n := e.Count(t, tb); n != before[tb] {
			t.Errorf("%s: %d rows, was %d", tb, n, before[tb])
		}
	}
}
