package billing_test

import (
	"net/http"
	"strings"
	"testing"

	"crm/platform/apptest"
)

// TestPaymentIsAFinancialRecord: only the status of a payment changes;
// another value for any other field is 403 and changes nothing; it is never
// deleted (405, as JSON).
func TestPaymentIsAFinancialRecord(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	c := e.Client(t, tok, 0)
	c2 := e.Client(t, tok, 0)
	p := e.Create(t, tok, "/api/payments/", map[string]any{
		"client": c, "amount": "49.90", "currency": "EUR", "status": "paid", "payment_date": "2025-03-01", "stripe_payment_intent_id": "pi_123",
	})
	url := path("/api/payments/%d/", p)
	before := apptest.Expect(t, e.Get(tok, url), http.StatusOK).Map(t)

	for _, body := range []map[string]any{
		{"amount": "50.00"},
		{"currency": "USD"},
		{"client": c2},
		{"payment_date": "2025-03-02"},
		{"stripe_payment_intent_id": "pi_456"},
		{"stripe_payment_intent_id": nil},
		{"status": "refunded", "amount": "0.00"},
	} {
		r := e.Patch(tok, url, body)
		if r.Status != http.StatusForbidden {
			t.Errorf("PATCH %v = %s, want 403", body, r)
			continue
		}
		apptest.WantDetail(t, r)
	}
	if after := apptest.Expect(t, e.Get(tok, url), http.StatusOK).Map(t); after["updated_at"] != before["updated_at"] || after["status"] != "paid" {
		t.Fatalf("a refused PATCH changed the payment: %v", after)
	}

	// The current values sent back are fine; the status changes.
	r := apptest.Expect(t, e.Patch(tok, url, map[string]any{"status": "refunded", "amount": 49.9, "currency": "eur", "client": c}), http.StatusOK).Map(t)
	if r["status"] != "refunded" || r["amount"] != "49.90" {
		t.Fatalf("status change = %v", r)
	}
	for _, body := range []map[string]any{{"status": "lost"}, {"status": nil}, {"status": 3}} {
		if r := e.Patch(tok, url, body); r.Status != http.StatusBadRequest {
			t.Errorf("PATCH %v = %s, want 400", body, r)
		}
	}

	// Never deleted, never replaced: 405 with a JSON detail and the Allow
	// header; the payment is still there.
	for _, m := range []string{http.MethodDelete, http.MethodPut} {
		r := e.Do(apptest.Request{Method: m, Path: url, Token: tok, Body: map[string]any{}})
		if r.Status != http.StatusMethodNotAllowed {
			t.Fatalf("%s payment = %s, want 405", m, r)
		}
		apptest.WantDetail(t, r)
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "PATCH") || strings.Contains(allow, m) {
			t.Fatalf("%s payment: Allow = %q", m, allow)
		}
	}
	apptest.Expect(t, e.Get(tok, url), http.StatusOK)

	// A Stripe payment intent is recorded once per account.
	r2 := e.Post(tok, "/api/payments/", map[string]any{"client": c2, "amount": 1, "currency": "EUR", "stripe_payment_intent_id": "pi_123"})
	if r2.Status != http.StatusConflict || apptest.WantDetail(t, r2)["errors"].(map[string]any)["stripe_payment_intent_id"] == nil {
		t.Fatalf("duplicate intent = %s", r2)
	}
	globex := e.Account("Globex")
	apptest.Expect(t, e.Post(globex.Owner.Token, "/api/payments/", map[string]any{
		"client": e.Client(t, globex.Owner.Token, 0), "amount": 1, "currency": "EUR", "stripe_payment_intent_id": "pi_123",
	}), http.StatusCreated)
}

// TestPaymentDefaults: status paid and today's date unless sent.
func TestPaymentDefaults(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	r := apptest.Expect(t, e.Post(tok, "/api/payments/", map[string]any{"client": e.Client(t, tok, 0), "amount": "5", "currency": "JPY"}), http.StatusCreated).Map(t)
	if r["status"] != "paid" || r["payment_date"] == nil || r["stripe_payment_intent_id"] != nil || r["amount"] != "5.00" {
		t.Fatalf("defaults = %v", r)
	}
}
