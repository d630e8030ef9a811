package stripe_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"crm/platform/apptest"
)

func TestCustomerEvents(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	tok := acme.Owner.Token
	ann, annEmail := client(t, e, tok)
	bob, _ := client(t, e, tok)
	t0 := time.Now().Unix() - 1000

	// Matched by email (any case); applied once.
	created := event("customer.created", t0, map[string]any{"id": "cus_A", "object": "customer", "email": annEmail, "metadata": map[string]any{}})
	h.apply(t, created, "applied")
	if again := h.apply(t, created, "applied"); again["duplicate"] != true {
		t.Fatalf("redelivery = %v", again)
	}
	sc := one(t, e, tok, "/api/stripe-customers/?status=active")
	if sc["client"] != float64(ann) || sc["stripe_customer_id"] != "cus_A" || sc["status"] != "active" {
		t.Fatalf("stripe customer = %v", sc)
	}
	// metadata.client_id wins over the email.
	updated := event("customer.updated", t0+20, map[string]any{"id": "cus_A", "email": annEmail, "metadata": map[string]any{"client_id": fmt.Sprint(bob)}})
	h.apply(t, updated, "applied")
	h.apply(t, updated, "applied") // redelivered: acknowledged, nothing written
	// An older update arriving late changes nothing.
	h.apply(t, event("customer.updated", t0+10, map[string]any{"id": "cus_A", "email": annEmail, "metadata": map[string]any{}}), "unchanged")
	if sc := one(t, e, tok, "/api/stripe-customers/"); sc["client"] != float64(bob) {
		t.Fatalf("after a late older update: %v", sc)
	}
	// Deleted: inactive, and nothing older or newer brings it back.
	deleted := event("customer.deleted", t0+30, map[string]any{"id": "cus_A", "deleted": true})
	h.apply(t, deleted, "applied")
	h.apply(t, deleted, "applied")
	h.apply(t, event("customer.updated", t0+25, map[string]any{"id": "cus_A", "email": annEmail}), "unchanged")
	if sc := one(t, e, tok, "/api/stripe-customers/"); sc["status"] != "inactive" {
		t.Fatalf("after deletion: %v", sc)
	}
	// A deletion arriving before the customer's creation: the creation is
	// then stale.
	h.apply(t, event("customer.deleted", t0+50, map[string]any{"id": "cus_B", "deleted": true}), "unchanged")
	h.apply(t, event("customer.created", t0+40, map[string]any{"id": "cus_B", "email": annEmail}), "unchanged")
	// No client matches: acknowledged, nothing written.
	h.apply(t, event("customer.created", t0, map[string]any{"id": "cus_C", "email": "nobody@example.com"}), "ignored")
	h.apply(t, event("customer.created", t0, map[string]any{"id": "cus_D", "email": "", "metadata": map[string]any{"client_id": "999999"}}), "ignored")
	if n := e.CountIn(t, "stripe_customers", acme.ID); n != 1 {
		t.Fatalf("%d stripe customers, want 1", n)
	}
	// Another account's client is never matched, even by id.
	other := e.Account("Other")
	oh := setup(t, e, other)
	oh.apply(t, event("customer.created", t0, map[string]any{"id": "cus_A", "email": annEmail, "metadata": map[string]any{"client_id": fmt.Sprint(ann)}}), "ignored")
	if n := e.CountIn(t, "stripe_customers", other.ID); n != 0 {
		t.Fatalf("other account has %d stripe customers", n)
	}
	// Other event types are acknowledged and ignored.
	h.apply(t, event("product.created", t0, map[string]any{"id": "prod_1"}), "ignored")
}

// linkCustomer links a new client to Stripe customer id through an event.
func linkCustomer(t *testing.T, e *env, h *hook, token, id string, at int64) int64 {
	t.Helper()
	c, email := client(t, e, token)
	h.apply(t, event("customer.created", at, map[string]any{"id": id, "email": email}), "applied")
	return c
}

func intent(id, customer string, amount int64, currency string, created int64) map[string]any {
	return map[string]any{"id": id, "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": currency,
		"customer": customer, "created": created, "status": "succeeded", "metadata": map[string]any{}}
}

func charge(id, pi, customer string, amount int64, currency string, refunded bool, created int64) map[string]any {
	refundedAmount := int64(0)
	if refunded {
		refundedAmount = amount
	}
	return map[string]any{"id": id, "object": "charge", "amount": amount, "amount_refunded": refundedAmount, "refunded": refunded,
		"currency": currency, "customer": customer, "payment_intent": pi, "created": created}
}

func dispute(id, ch, pi string, amount int64, currency string, created int64) map[string]any {
	return map[string]any{"id": id, "object": "dispute", "amount": amount, "currency": currency, "charge": ch, "payment_intent": pi, "created": created}
}

func TestPaymentEvents(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	tok := acme.Owner.Token
	t0 := time.Now().Unix() - 1000
	ann := linkCustomer(t, e, h, tok, "cus_ann", t0)

	// Succeeded: a paid payment, amount from minor units exactly, currency
	// upper-cased, dated the intent's day; applied once.
	paid := event("payment_intent.succeeded", t0+10, intent("pi_1", "cus_ann", 123456, "usd", 1767225600)) // 2026-01-01
	h.apply(t, paid, "applied")
	h.apply(t, paid, "applied")
	p := one(t, e, tok, "/api/payments/")
	if p["client"] != float64(ann) || p["amount"] != "1234.56" || p["currency"] != "USD" || p["status"] != "paid" ||
		p["stripe_payment_intent_id"] != "pi_1" || p["payment_date"] != "2026-01-01" {
		t.Fatalf("payment = %v", p)
	}
	// Zero-decimal and three-decimal currencies.
	h.apply(t, event("payment_intent.succeeded", t0+11, intent("pi_jpy", "cus_ann", 5000, "jpy", t0)), "applied")
	h.apply(t, event("payment_intent.succeeded", t0+12, intent("pi_kwd", "cus_ann", 12340, "kwd", t0)), "applied")
	h.apply(t, event("payment_intent.succeeded", t0+13, intent("pi_kwd2", "cus_ann", 12345, "kwd", t0)), "ignored")
	if p := one(t, e, tok, "/api/payments/?currency=JPY"); p["amount"] != "5000.00" {
		t.Fatalf("JPY payment = %v", p)
	}
	if p := one(t, e, tok, "/api/payments/?currency=KWD"); p["amount"] != "12.34" {
		t.Fatalf("KWD payment = %v", p)
	}
	// Failed.
	failed := event("payment_intent.payment_failed", t0+14, intent("pi_2", "cus_ann", 5000, "eur", t0))
	h.apply(t, failed, "applied")
	h.apply(t, failed, "applied")
	if p := one(t, e, tok, "/api/payments/?status=failed"); p["amount"] != "50.00" || p["currency"] != "EUR" {
		t.Fatalf("failed payment = %v", p)
	}
	// A retry that succeeds moves it to paid.
	h.apply(t, event("payment_intent.succeeded", t0+15, intent("pi_2", "cus_ann", 5000, "eur", t0)), "applied")
	// A partial refund changes nothing; a full one refunds.
	h.apply(t, event("charge.refunded", t0+20, charge("ch_1", "pi_1", "cus_ann", 123456, "usd", false, t0)), "unchanged")
	h.apply(t, event("charge.refunded", t0+21, charge("ch_1", "pi_1", "cus_ann", 123456, "usd", true, t0)), "applied")
	// A late success or failure never moves it back.
	h.apply(t, event("payment_intent.succeeded", t0+22, intent("pi_1", "cus_ann", 123456, "usd", t0)), "unchanged")
	h.apply(t, event("payment_intent.payment_failed", t0+5, intent("pi_1", "cus_ann", 123456, "usd", t0)), "unchanged")
	if p := one(t, e, tok, "/api/payments/?currency=USD"); p["status"] != "refunded" {
		t.Fatalf("after a late success: %v", p)
	}
	// A dispute.
	h.apply(t, event("charge.dispute.created", t0+30, dispute("dp_1", "ch_9", "pi_2", 5000, "eur", t0)), "applied")
	if p := one(t, e, tok, "/api/payments/?currency=EUR"); p["status"] != "disputed" {
		t.Fatalf("after a dispute: %v", p)
	}
	stats := apptest.Expect(t, e.Get(tok, "/api/payments/statistics/"), http.StatusOK).Map(t)
	if stats["total_payments"] != float64(4) {
		t.Fatalf("statistics = %v", stats)
	}
	// A payment whose customer nobody knows and without metadata waits for
	// it; one without a customer at all is ignored.
	h.apply(t, event("payment_intent.succeeded", t0, intent("pi_3", "", 100, "usd", t0)), "ignored")
	if n := e.CountIn(t, "payments", acme.ID); n != 4 {
		t.Fatalf("%d payments, want 4", n)
	}
	// Each change was journaled once: the audit log has one row per change.
	var actions []string
	if err := e.DB.NewSelect().Table("audit_events").Column("action").Where("account_id = ? AND object_type = 'payment'", acme.ID).
		OrderExpr("id").Scan(t.Context(), &actions); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(actions) != "[create create create create status_change status_change status_change]" {
		t.Fatalf("journaled payment changes = %v", actions)
	}
}

// TestEventsInAnyOrder replays the life of a payment (customer, success,
// refund, dispute) in every order, each event twice: the end state is the
// same every time, written once.
func TestEventsInAnyOrder(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	tok := acme.Owner.Token
	t0 := time.Now().Unix() - 1000

	perms := permutations([]int{0, 1, 2, 3})
	for n, order := range perms {
		c, email := client(t, e, tok)
		cus, pi, ch := fmt.Sprintf("cus_%d", n), fmt.Sprintf("pi_%d", n), fmt.Sprintf("ch_%d", n)
		events := [][]byte{
			event("customer.created", t0, map[string]any{"id": cus, "email": email}),
			event("payment_intent.succeeded", t0+1, intent(pi, cus, 9999, "usd", t0)),
			event("charge.refunded", t0+2, charge(ch, pi, cus, 9999, "usd", true, t0)),
			event("charge.dispute.created", t0+3, dispute("dp_"+fmt.Sprint(n), ch, pi, 9999, "usd", t0)),
		}
		for _, i := range order {
			for range 2 {
				apptest.Expect(t, h.send(t, events[i]), http.StatusOK)
			}
		}
		p := one(t, e, tok, fmt.Sprintf("/api/payments/?client=%d", c))
		if p["status"] != "disputed" || p["amount"] != "99.99" || p["stripe_payment_intent_id"] != pi {
			t.Fatalf("order %v: payment = %v", order, p)
		}
		if sc := one(t, e, tok, fmt.Sprintf("/api/stripe-customers/?client=%d", c)); sc["status"] != "active" {
			t.Fatalf("order %v: stripe customer = %v", order, sc)
		}
	}
	if n := e.CountIn(t, "payments", acme.ID); n != len(perms) {
		t.Fatalf("%d payments for %d lives", n, len(perms))
	}
	if n := e.CountIn(t, "stripe_events", acme.ID); n != 4*len(perms) {
		t.Fatalf("%d events stored, want %d", n, 4*len(perms))
	}
	waiting, err := e.DB.NewSelect().Table("stripe_events").Where("outcome = 'waiting'").Count(t.Context())
	if err != nil || waiting != 0 {
		t.Fatalf("%d events still waiting (%v)", waiting, err)
	}
}

func permutations(s []int) [][]int {
	if len(s) <= 1 {
		return [][]int{append([]int(nil), s...)}
	}
	var out [][]int
	for i := range s {
		rest := append(append([]int(nil), s[:i]...), s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]int{s[i]}, p...))
		}
	}
	return out
}

func TestInvoicePaid(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	tok := acme.Owner.Token
	t0 := time.Now().Unix() - 1000
	ann := linkCustomer(t, e, h, tok, "cus_ann", t0)
	instalment := func(n int, amount, date string) int64 {
		out := apptest.Expect(t, e.Post(tok, "/api/installments/", map[string]any{"client": ann, "amount": amount, "currency": "USD",
			"schedule_date": date, "instalment_number": n}), http.StatusCreated).Map(t)
		return int64(out["id"].(float64))
	}
	first := instalment(1, "100.00", "2026-01-01")
	second := instalment(2, "100.00", "2026-02-01")
	odd := instalment(3, "150.00", "2026-03-01")
	status := func(id int64) string {
		return apptest.Expect(t, e.Get(tok, fmt.Sprintf("/api/installments/%d/", id)), http.StatusOK).Map(t)["status"].(string)
	}
	invoice := func(id string, amount int64, metadata map[string]any) map[string]any {
		return map[string]any{"id": id, "object": "invoice", "amount_paid": amount, "currency": "usd", "customer": "cus_ann", "metadata": metadata}
	}

	// By metadata.instalment_id, whatever the amount.
	byID := event("invoice.paid", t0+1, invoice("in_1", 15000, map[string]any{"instalment_id": fmt.Sprint(odd)}))
	h.apply(t, byID, "applied")
	h.apply(t, byID, "applied") // the redelivery: acknowledged, nothing written
	if status(odd) != "paid" || status(first) != "open" {
		t.Fatal("metadata.instalment_id did not pay the named instalment")
	}
	// By client and amount: the earliest open one first.
	h.apply(t, event("invoice.paid", t0+2, invoice("in_2", 10000, nil)), "applied")
	if status(first) != "paid" || status(second) != "open" {
		t.Fatal("the earliest open instalment is not the one paid")
	}
	h.apply(t, event("invoice.paid", t0+3, invoice("in_3", 10000, nil)), "applied")
	if status(second) != "paid" {
		t.Fatal("the second instalment is not paid")
	}
	// Nothing left to match, an instalment already paid, an unknown one.
	h.apply(t, event("invoice.paid", t0+4, invoice("in_4", 10000, nil)), "ignored")
	h.apply(t, event("invoice.paid", t0+5, invoice("in_5", 10000, map[string]any{"instalment_id": fmt.Sprint(first)})), "unchanged")
	h.apply(t, event("invoice.paid", t0+6, invoice("in_6", 10000, map[string]any{"instalment_id": "99999999"})), "ignored")
	// Another account's instalment cannot be named.
	other := e.Account("Other")
	oh := setup(t, e, other)
	otherClient, otherEmail := client(t, e, other.Owner.Token)
	oh.apply(t, event("customer.created", t0, map[string]any{"id": "cus_x", "email": otherEmail}), "applied")
	_ = otherClient
	third := instalment(4, "100.00", "2026-04-01")
	oh.apply(t, event("invoice.paid", t0+7, map[string]any{"id": "in_7", "amount_paid": 10000, "currency": "usd", "customer": "cus_x",
		"metadata": map[string]any{"instalment_id": fmt.Sprint(third)}}), "ignored")
	if status(third) != "open" {
		t.Fatal("another account's event paid this account's instalment")
	}
	// An invoice before its customer is linked waits, then applies.
	bob, bobEmail := client(t, e, tok)
	apptest.Expect(t, e.Post(tok, "/api/installments/", map[string]any{"client": bob, "amount": "42.00", "currency": "USD",
		"schedule_date": "2026-01-15", "instalment_number": 1}), http.StatusCreated)
	h.apply(t, event("invoice.paid", t0+8, map[string]any{"id": "in_8", "amount_paid": 4200, "currency": "usd", "customer": "cus_bob"}), "waiting")
	h.apply(t, event("customer.created", t0+9, map[string]any{"id": "cus_bob", "email": bobEmail}), "applied")
	if got := one(t, e, tok, fmt.Sprintf("/api/installments/?client=%d", bob)); got["status"] != "paid" {
		t.Fatalf("bob's instalment = %v", got)
	}
}

func TestStripeChangesReachWebhooksOut(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	tok := acme.Owner.Token
	// A public address: the outbox is checked, nothing is sent (no worker).
	apptest.Expect(t, e.Post(tok, "/api/webhook-endpoints/", map[string]any{"url": "https://8.8.8.8/hook", "event_types": []string{"*"}}), http.StatusCreated)
	t0 := time.Now().Unix() - 1000
	ann := linkCustomer(t, e, h, tok, "cus_ann", t0)
	ins := apptest.Expect(t, e.Post(tok, "/api/installments/", map[string]any{"client": ann, "amount": "25.00", "currency": "USD",
		"schedule_date": "2026-01-01", "instalment_number": 1}), http.StatusCreated).Map(t)
	_ = ins
	h.apply(t, event("payment_intent.succeeded", t0+1, intent("pi_1", "cus_ann", 2500, "usd", t0)), "applied")
	h.apply(t, event("charge.refunded", t0+2, charge("ch_1", "pi_1", "cus_ann", 2500, "usd", true, t0)), "applied")
	h.apply(t, event("invoice.paid", t0+3, map[string]any{"id": "in_1", "amount_paid": 2500, "currency": "usd", "customer": "cus_ann"}), "applied")

	var types []string
	if err := e.DB.NewSelect().Table("webhook_deliveries").Column("event_type").Where("account_id = ?", acme.ID).
		Where("event_type <> 'client.created'").OrderExpr("id").Scan(t.Context(), &types); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(types) != "[payment.recorded payment.status_changed instalment.paid]" {
		t.Fatalf("outbox = %v", types)
	}
}
