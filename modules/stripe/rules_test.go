package stripe_test

import (
	"testing"
	"time"
)

// TestBillingRulesHoldForStripe: a payment that billing's API would refuse
// (a currency that is no ISO 4217 code, a payment intent id with a space)
// is not recorded from a Stripe event either: the event is acknowledged as
// ignored, and nothing is written.
func TestBillingRulesHoldForStripe(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	t0 := time.Now().Unix() - 1000
	linkCustomer(t, e, h, acme.Owner.Token, "cus_ann", t0)

	h.apply(t, event("payment_intent.succeeded", t0+1, intent("pi_abc", "cus_ann", 1000, "abc", t0)), "ignored")
	h.apply(t, event("payment_intent.succeeded", t0+2, intent("pi 1", "cus_ann", 1000, "usd", t0)), "ignored")
	if n := e.CountIn(t, "payments", acme.ID); n != 0 {
		t.Fatalf("%d payments recorded, want 0", n)
	}
	// The same intent with a valid currency is recorded: the refusal left
	// the event's transaction whole.
	h.apply(t, event("payment_intent.succeeded", t0+3, intent("pi_abc", "cus_ann", 1000, "usd", t0)), "applied")
	if n := e.CountIn(t, "payments", acme.ID); n != 1 {
		t.Fatalf("%d payments recorded, want 1", n)
	}
}

// TestStripeIDsAsBillingStoresThem: a customer id that billing trims names
// the Stripe customer billing has under the trimmed id; linking it again is
// refused (ignored), not an error that breaks the event's transaction.
func TestStripeIDsAsBillingStoresThem(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	t0 := time.Now().Unix() - 1000
	_, email := client(t, e, acme.Owner.Token)
	h.apply(t, event("customer.created", t0, map[string]any{"id": "cus_A", "email": email}), "applied")
	h.apply(t, event("customer.created", t0+1, map[string]any{"id": " cus_A", "email": email}), "ignored")
	if n := e.CountIn(t, "stripe_customers", acme.ID); n != 1 {
		t.Fatalf("%d Stripe customers, want 1", n)
	}
}
