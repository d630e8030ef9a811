package billing_test

import (
	"fmt"
	"strings"
	"testing"

	"crm/platform/apptest"
)

// TestNoInputMakesA500: odd bodies and query strings on every write and
// list route are 4xx JSON errors (or successes), never a 5xx.
func TestNoInputMakesA500(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	tok := w.tokens["super_admin"]
	values := []string{
		`null`, `true`, `0`, `-1`, `1.5`, `1e400`, `99999999999999999999`, `-9223372036854775808`, `""`, `" "`,
		`"0000-01-01"`, `"9999-12-31"`, `"2025-02-29"`, `"x"`, `"` + strings.Repeat("x", 300) + `"`, `[]`, `{}`, `"\u00e9"`,
		`"%"`, `"_"`, `"'; DROP TABLE payments; --"`, `0.001`, `999999999999.99`, `"1e3"`,
	}
	fields := map[string][]string{
		"/api/payments/":         {"client", "amount", "currency", "status", "payment_date", "stripe_payment_intent_id"},
		"/api/installments/":     {"client", "client_package", "amount", "currency", "schedule_date", "status", "instalment_number"},
		"/api/stripe-customers/": {"client", "stripe_customer_id", "email", "status"},
		"/api/client-packages/":  {"client", "package", "custom_price", "monthly_payment_amount", "payment_schedule", "start_date", "end_date", "status"},
		"/api/packages/":         {"package_name", "description"},
	}
	valid := map[string]string{
		"/api/payments/":         fmt.Sprintf(`"client": %d, "amount": 1, "currency": "USD"`, w.mine),
		"/api/installments/":     fmt.Sprintf(`"client": %d, "amount": 1, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 3`, w.mine),
		"/api/stripe-customers/": fmt.Sprintf(`"client": %d, "stripe_customer_id": "cus_r"`, w.mine),
		"/api/client-packages/":  fmt.Sprintf(`"client": %d, "package": %d, "custom_price": 1, "payment_schedule": "PIF", "start_date": "2025-01-01"`, w.mine, w.pkg),
		"/api/packages/":         `"package_name": "p"`,
	}
	detail := map[string]string{
		"/api/payments/":         path("/api/payments/%d/", w.pay[w.mine]),
		"/api/installments/":     path("/api/installments/%d/", w.ins[w.mine]),
		"/api/stripe-customers/": path("/api/stripe-customers/%d/", w.sc[w.mine]),
		"/api/client-packages/":  path("/api/client-packages/%d/", w.cp[w.mine]),
		"/api/packages/":         path("/api/packages/%d/", w.pkg),
	}
	for list, fs := range fields {
		for _, f := range fs {
			for _, v := range values {
				body := "{" + valid[list] + `, "` + f + `": ` + v + "}"
				for _, req := range []apptest.Request{
					{Method: "POST", Path: list, Token: tok, Body: body},
					{Method: "PATCH", Path: detail[list], Token: tok, Body: `{"` + f + `": ` + v + "}"},
				} {
					if r := e.Do(req); r.Status >= 500 {
						t.Errorf("%s %s %s = %s", req.Method, req.Path, req.Body, r)
					}
				}
			}
			for _, v := range []string{"-1", "abc", "%00", "99999999999999999999", "1.5", "'", "USD,EUR"} {
				if r := e.Get(tok, list+"?"+f+"="+v); r.Status >= 500 {
					t.Errorf("GET %s?%s=%s = %s", list, f, v, r)
				}
			}
		}
		for _, v := range []string{"-1", "0", "abc", "99999999999999999999"} {
			if r := e.Get(tok, list+"?page="+v+"&page_size="+v+"&ordering="+v); r.Status >= 500 {
				t.Errorf("GET %s paging %s = %s", list, v, r)
			}
		}
	}
	for _, body := range []string{``, `[`, `[]`, `"x"`, `{"a":`, strings.Repeat("[", 10000)} {
		if r := e.Do(apptest.Request{Method: "POST", Path: "/api/payments/", Token: tok, Body: body}); r.Status >= 500 || r.Status < 400 {
			t.Errorf("POST body %.20q = %s", body, r)
		}
	}
}
