package billing_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"crm/platform/apptest"
)

// TestMoneyIsExact: amounts go from the wire to the disk and back without a
// binary float: 0.10 + 0.20 is 0.30, the largest amount round-trips, and
// anything that is not an exact, non-negative, two-decimal amount below
// 10^12 is a 400 naming the field, with nothing written.
func TestMoneyIsExact(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	c := e.Client(t, tok, 0)
	post := func(p string, body string) *apptest.Response {
		return e.Do(apptest.Request{Method: "POST", Path: p, Token: tok, Body: body})
	}

	// 0.10 (a JSON number) + 0.20 (a string) = 0.30.
	apptest.Expect(t, post("/api/payments/", fmt.Sprintf(`{"client": %d, "amount": 0.10, "currency": "USD"}`, c)), http.StatusCreated)
	apptest.Expect(t, post("/api/payments/", fmt.Sprintf(`{"client": %d, "amount": "0.20", "currency": "USD"}`, c)), http.StatusCreated)
	var st statistics
	apptest.Expect(t, e.Get(tok, "/api/payments/statistics/"), http.StatusOK).JSON(t, &st)
	if st.TotalAmount != "0.30" || st.TotalsByCurrency[0].PaidAmount != "0.30" {
		t.Fatalf("0.10 + 0.20 = %+v", st)
	}

	// The largest amount, sent as a number (a float64 would make it ...98999)
	// and as a string, comes back exact from the database.
	for _, amount := range []string{`999999999999.99`, `"999999999999.99"`} {
		r := apptest.Expect(t, post("/api/payments/", fmt.Sprintf(`{"client": %d, "amount": %s, "currency": "EUR"}`, c, amount)), http.StatusCreated)
		var p struct {
			ID     int64  `json:"id"`
			Amount string `json:"amount"`
		}
		r.JSON(t, &p)
		apptest.Expect(t, e.Get(tok, path("/api/payments/%d/", p.ID)), http.StatusOK).JSON(t, &p)
		if p.Amount != "999999999999.99" {
			t.Fatalf("amount %s came back as %s", amount, p.Amount)
		}
	}
	apptest.Expect(t, e.Get(tok, "/api/payments/statistics/?currency=EUR"), http.StatusOK).JSON(t, &st)
	if st.TotalAmount != "1999999999999.98" {
		t.Fatalf("sum of two largest amounts = %s", st.TotalAmount)
	}
	// Two places always, and integers are accepted.
	r := apptest.Expect(t, post("/api/payments/", fmt.Sprintf(`{"client": %d, "amount": 7, "currency": "usd"}`, c)), http.StatusCreated).Map(t)
	if r["amount"] != "7.00" || r["currency"] != "USD" {
		t.Fatalf("amount 7 = %v", r)
	}

	before := e.Count(t, "payments")
	refused := map[string]string{
		`1.234`:               "decimal places",
		`"1.234"`:             "decimal places",
		`1.000`:               "decimal places",
		`-1`:                  "greater than or equal to 0",
		`"-0.01"`:             "greater than or equal to 0",
		`1e3`:                 "exponent",
		`"1E3"`:               "exponent",
		`"NaN"`:               "valid number",
		`"Infinity"`:          "valid number",
		`1000000000000`:       "less than 1000000000000",
		`"1000000000000.00"`:  "less than 1000000000000",
		`true`:                "valid number",
		`{}`:                  "valid number",
		`[1]`:                 "valid number",
		`""`:                  "valid number",
		`"12,50"`:             "valid number",
		`null`:                "may not be null",
		`0.30000000000000004`: "decimal places",
	}
	for amount, msg := range refused {
		r := post("/api/payments/", fmt.Sprintf(`{"client": %d, "amount": %s, "currency": "USD"}`, c, amount))
		if r.Status != http.StatusBadRequest {
			t.Errorf("amount %s = %s, want 400", amount, r)
			continue
		}
		var body struct {
			Detail string              `json:"detail"`
			Errors map[string][]string `json:"errors"`
		}
		r.JSON(t, &body)
		if body.Detail == "" || len(body.Errors["amount"]) == 0 || !strings.Contains(body.Errors["amount"][0], msg) {
			t.Errorf("amount %s: %s, want an error on amount saying %q", amount, r.Body, msg)
		}
	}
	if n := e.Count(t, "payments"); n != before {
		t.Fatalf("refused amounts wrote %d payments", n-before)
	}

	// The same rule for every amount of every resource.
	pkg := e.Create(t, tok, "/api/packages/", map[string]any{"package_name": "P"})
	for _, c := range []struct{ path, body, field string }{
		{"/api/installments/", fmt.Sprintf(`{"client": %d, "amount": 1.001, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 1}`, c), "amount"},
		{"/api/client-packages/", fmt.Sprintf(`{"client": %d, "package": %d, "custom_price": "-5", "payment_schedule": "PIF", "start_date": "2025-01-01"}`, c, pkg), "custom_price"},
		{"/api/client-packages/", fmt.Sprintf(`{"client": %d, "package": %d, "custom_price": 5, "monthly_payment_amount": 1e2, "payment_schedule": "PIF", "start_date": "2025-01-01"}`, c, pkg), "monthly_payment_amount"},
	} {
		r := post(c.path, c.body)
		if r.Status != http.StatusBadRequest || len(apptest.WantDetail(t, r)["errors"].(map[string]any)[c.field].([]any)) == 0 {
			t.Errorf("%s %s = %s, want 400 on %s", c.path, c.body, r, c.field)
		}
	}
	if e.Count(t, "instalments")+e.Count(t, "client_packages") != 0 {
		t.Fatal("refused amounts were written")
	}
}
