package billing_test

import (
	"net/http"
	"testing"

	"crm/platform/apptest"
)

// TestInstalmentRules: numbers are unique per client package (not across
// them, nor without one); the client package must be one of the client's.
func TestInstalmentRules(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	tok := w.tokens["admin"]
	cp := w.cp[w.mine]
	body := func(n int, cp any) map[string]any {
		b := map[string]any{"client": w.mine, "amount": "100.00", "currency": "USD", "schedule_date": "2025-03-01", "instalment_number": n}
		if cp != nil {
			b["client_package"] = cp
		}
		return b
	}
	// The world made instalment 1 of cp already.
	r := e.Post(tok, "/api/installments/", body(1, cp))
	if r.Status != http.StatusConflict || apptest.WantDetail(t, r)["errors"].(map[string]any)["instalment_number"] == nil {
		t.Fatalf("duplicate number = %s", r)
	}
	second := e.Create(t, tok, "/api/installments/", body(2, cp))
	// Moving number 2 onto 1 is the same conflict; the row is unchanged.
	r = e.Patch(tok, path("/api/installments/%d/", second), map[string]any{"instalment_number": 1})
	if r.Status != http.StatusConflict {
		t.Fatalf("renumber onto a taken number = %s", r)
	}
	// The same number in another client package, or without one, is fine.
	apptest.Expect(t, e.Post(tok, "/api/installments/", map[string]any{
		"client": w.other, "client_package": w.cp[w.other], "amount": 1, "currency": "USD", "schedule_date": "2025-03-01", "instalment_number": 2,
	}), http.StatusCreated)
	apptest.Expect(t, e.Post(tok, "/api/installments/", body(1, nil)), http.StatusCreated)
	apptest.Expect(t, e.Post(tok, "/api/installments/", body(1, nil)), http.StatusCreated)

	// Another client's package is refused, on create and on update.
	r = e.Post(tok, "/api/installments/", body(3, w.cp[w.other]))
	if r.Status != http.StatusBadRequest || apptest.WantDetail(t, r)["errors"].(map[string]any)["client_package"] == nil {
		t.Fatalf("another client's package = %s", r)
	}
	r = e.Patch(tok, path("/api/installments/%d/", second), map[string]any{"client": w.other})
	if r.Status != http.StatusBadRequest || apptest.WantDetail(t, r)["errors"].(map[string]any)["client_package"] == nil {
		t.Fatalf("moving to another client keeping the package = %s", r)
	}
	// Moving it with the other client's package works.
	m := apptest.Expect(t, e.Patch(tok, path("/api/installments/%d/", second), map[string]any{"client": w.other, "client_package": w.cp[w.other], "instalment_number": 3}), http.StatusOK).Map(t)
	if m["client"].(float64) != float64(w.other) || m["client_package"].(float64) != float64(w.cp[w.other]) {
		t.Fatalf("moved instalment = %v", m)
	}

	// Validation: every failing field at once, nothing written.
	before := e.Count(t, "instalments")
	r = e.Post(tok, "/api/installments/", map[string]any{"client": w.mine, "amount": "1", "currency": "EURO", "schedule_date": "2025-13-01", "status": "late", "instalment_number": 0})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("invalid instalment = %s", r)
	}
	r = e.Post(tok, "/api/installments/", map[string]any{"client": w.mine, "amount": "1", "currency": "EURO", "status": "late", "instalment_number": 0})
	errs := apptest.WantDetail(t, r)["errors"].(map[string]any)
	for _, f := range []string{"currency", "status", "instalment_number", "schedule_date"} {
		if errs[f] == nil {
			t.Errorf("no error on %s: %s", f, r)
		}
	}
	if e.Count(t, "instalments") != before {
		t.Fatal("an invalid instalment was written")
	}

	// PUT replaces: absent optional fields take their defaults.
	put := apptest.Expect(t, e.Put(tok, path("/api/installments/%d/", second), map[string]any{
		"client": w.mine, "amount": "7.00", "currency": "CHF", "schedule_date": "2025-05-01", "instalment_number": 9,
	}), http.StatusOK).Map(t)
	if put["client_package"] != nil || put["status"] != "open" || put["currency"] != "CHF" {
		t.Fatalf("PUT = %v", put)
	}
	apptest.Expect(t, e.Put(tok, path("/api/installments/%d/", second), map[string]any{"amount": "7.00"}), http.StatusBadRequest)
}

// TestStripeCustomerRules: the Stripe customer id is unique in the account
// (not across accounts); the email is checked.
func TestStripeCustomerRules(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	c := e.Client(t, tok, 0)
	first := e.Create(t, tok, "/api/stripe-customers/", map[string]any{"client": c, "stripe_customer_id": "cus_A", "email": "Pay@Example.com"})
	r := e.Post(tok, "/api/stripe-customers/", map[string]any{"client": c, "stripe_customer_id": "cus_A"})
	if r.Status != http.StatusConflict || apptest.WantDetail(t, r)["errors"].(map[string]any)["stripe_customer_id"] == nil {
		t.Fatalf("duplicate stripe_customer_id = %s", r)
	}
	second := e.Create(t, tok, "/api/stripe-customers/", map[string]any{"client": c, "stripe_customer_id": "cus_B"})
	apptest.Expect(t, e.Patch(tok, path("/api/stripe-customers/%d/", second), map[string]any{"stripe_customer_id": "cus_A"}), http.StatusConflict)
	globex := e.Account("Globex")
	apptest.Expect(t, e.Post(globex.Owner.Token, "/api/stripe-customers/", map[string]any{"client": e.Client(t, globex.Owner.Token, 0), "stripe_customer_id": "cus_A"}), http.StatusCreated)

	got := apptest.Expect(t, e.Get(tok, path("/api/stripe-customers/%d/", first)), http.StatusOK).Map(t)
	if got["email"] != "pay@example.com" || got["status"] != "active" {
		t.Fatalf("stripe customer = %v", got)
	}
	for _, body := range []map[string]any{
		{"client": c, "stripe_customer_id": "cus C"},
		{"client": c, "stripe_customer_id": ""},
		{"client": c, "stripe_customer_id": "cus_D", "email": "not-an-email"},
		{"client": c, "stripe_customer_id": "cus_D", "status": "deleted"},
		{"client": c},
		{"stripe_customer_id": "cus_D"},
	} {
		if r := e.Post(tok, "/api/stripe-customers/", body); r.Status != http.StatusBadRequest {
			t.Errorf("POST %v = %s, want 400", body, r)
		}
	}
}

// TestDeletesWithDependants: a client with billing rows, and a client
// package with instalments, are 409 and nothing is deleted; once the
// dependants are gone, the delete works.
func TestDeletesWithDependants(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	pkg := e.Create(t, tok, "/api/packages/", map[string]any{"package_name": "P"})
	kinds := []struct {
		name   string
		create func(c int64) string // returns the row's path
	}{
		{"client package", func(c int64) string {
			return path("/api/client-packages/%d/", e.Create(t, tok, "/api/client-packages/", map[string]any{
				"client": c, "package": pkg, "custom_price": 1, "payment_schedule": "PIF", "start_date": "2025-01-01"}))
		}},
		{"payment", func(c int64) string {
			return path("/api/payments/%d/", payment(t, e, tok, c, 1, "USD", "paid"))
		}},
		{"instalment", func(c int64) string {
			return path("/api/installments/%d/", e.Create(t, tok, "/api/installments/", map[string]any{
				"client": c, "amount": 1, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 1}))
		}},
		{"stripe customer", func(c int64) string {
			return path("/api/stripe-customers/%d/", e.Create(t, tok, "/api/stripe-customers/", map[string]any{
				"client": c, "stripe_customer_id": "cus_" + path("%d", c)}))
		}},
	}
	for _, k := range kinds {
		c := e.Client(t, tok, 0)
		row := k.create(c)
		r := e.Delete(tok, path("/api/clients/%d/", c))
		if r.Status != http.StatusConflict {
			t.Fatalf("delete a client with a %s = %s, want 409", k.name, r)
		}
		apptest.WantDetail(t, r)
		apptest.Expect(t, e.Get(tok, path("/api/clients/%d/", c)), http.StatusOK)
		apptest.Expect(t, e.Get(tok, row), http.StatusOK)
		if k.name != "payment" { // a payment is never deleted
			apptest.Expect(t, e.Delete(tok, row), http.StatusNoContent)
			apptest.Expect(t, e.Delete(tok, path("/api/clients/%d/", c)), http.StatusNoContent)
		}
	}

	// A client package with instalments.
	c := e.Client(t, tok, 0)
	cp := e.Create(t, tok, "/api/client-packages/", map[string]any{
		"client": c, "package": pkg, "custom_price": 1, "payment_schedule": "PIF", "start_date": "2025-01-01"})
	ins := e.Create(t, tok, "/api/installments/", map[string]any{
		"client": c, "client_package": cp, "amount": 1, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 1})
	r := e.Delete(tok, path("/api/client-packages/%d/", cp))
	if r.Status != http.StatusConflict {
		t.Fatalf("delete a client package with instalments = %s", r)
	}
	apptest.WantDetail(t, r)
	apptest.Expect(t, e.Get(tok, path("/api/client-packages/%d/", cp)), http.StatusOK)
	apptest.Expect(t, e.Delete(tok, path("/api/installments/%d/", ins)), http.StatusNoContent)
	apptest.Expect(t, e.Delete(tok, path("/api/client-packages/%d/", cp)), http.StatusNoContent)
	apptest.Expect(t, e.Get(tok, path("/api/installments/%d/", ins)), http.StatusNotFound)
}
