package billing_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/platform/apptest"
)

func withKey(token, p, key string, body any) apptest.Request {
	return apptest.Request{Method: "POST", Path: p, Token: token, Body: body, Headers: map[string]string{"Idempotency-Key": key}}
}

// TestIdempotencyKey: a retried POST with the same key and body answers the
// first response again and writes nothing; another body, route or employee
// with the key is 409; keys are per account, errors are not kept, and keys
// expire after 24 hours.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	c := e.Client(t, tok, 0)
	body := fmt.Sprintf(`{"client": %d, "amount": "10.00", "currency": "USD"}`, c)

	first := apptest.Expect(t, e.Do(withKey(tok, "/api/payments/", "retry-1", body)), http.StatusCreated)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a first answer is not a replay")
	}
	// The same request again, even laid out differently: the same answer.
	for _, again := range []string{body, "{\n  " + body[1:len(body)-1] + "\n}"} {
		r := apptest.Expect(t, e.Do(withKey(tok, "/api/payments/", "retry-1", again)), http.StatusCreated)
		if !bytes.Equal(r.Body, first.Body) || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay = %s (%v), first %s", r.Body, r.Header, first.Body)
		}
	}
	if n := e.Count(t, "payments"); n != 1 {
		t.Fatalf("%d payments after a replay", n)
	}

	// The key with anything else: 409, nothing written.
	admin := acme.Employee("admin")
	for name, req := range map[string]apptest.Request{
		"another body":     withKey(tok, "/api/payments/", "retry-1", fmt.Sprintf(`{"client": %d, "amount": "10.01", "currency": "USD"}`, c)),
		"another route":    withKey(tok, "/api/stripe-customers/", "retry-1", map[string]any{"client": c, "stripe_customer_id": "cus_1"}),
		"another employee": withKey(admin.Token, "/api/payments/", "retry-1", body),
	} {
		r := e.Do(req)
		if r.Status != http.StatusConflict {
			t.Errorf("%s: %s, want 409", name, r)
			continue
		}
		apptest.WantDetail(t, r)
	}
	if n := e.Count(t, "payments") + e.Count(t, "stripe_customers"); n != 1 {
		t.Fatalf("conflicting keys wrote rows: %d", n)
	}

	// Keys are per account: another account's identical key is its own.
	globex := e.Account("Globex")
	gc := e.Client(t, globex.Owner.Token, 0)
	apptest.Expect(t, e.Do(withKey(globex.Owner.Token, "/api/payments/", "retry-1", map[string]any{"client": gc, "amount": "10.00", "currency": "USD"})), http.StatusCreated)
	if n := e.Count(t, "payments"); n != 2 {
		t.Fatalf("%d payments, want 2", n)
	}

	// An error answer is not kept: the key may be retried with a fixed body.
	apptest.Expect(t, e.Do(withKey(tok, "/api/payments/", "retry-2", map[string]any{"client": c, "amount": "1.001", "currency": "USD"})), http.StatusBadRequest)
	fixed := apptest.Expect(t, e.Do(withKey(tok, "/api/payments/", "retry-2", map[string]any{"client": c, "amount": "1.00", "currency": "USD"})), http.StatusCreated)
	again := apptest.Expect(t, e.Do(withKey(tok, "/api/payments/", "retry-2", map[string]any{"client": c, "amount": "1.00", "currency": "USD"})), http.StatusCreated)
	if !bytes.Equal(fixed.Body, again.Body) {
		t.Fatalf("replay after an error: %s vs %s", fixed.Body, again.Body)
	}

	// Without a key, every POST writes.
	apptest.Expect(t, e.Post(tok, "/api/payments/", body), http.StatusCreated)
	apptest.Expect(t, e.Post(tok, "/api/payments/", body), http.StatusCreated)
	if n := e.Count(t, "payments"); n != 5 {
		t.Fatalf("%d payments, want 5", n)
	}

	// After 24 hours a key is forgotten: it runs as a new request.
	if _, err := e.DB.NewRaw("UPDATE idempotency_keys SET created_at = ? WHERE key = ?", time.Now().UTC().Add(-25*time.Hour), "retry-1").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	apptest.Expect(t, e.Do(withKey(tok, "/api/payments/", "retry-1", fmt.Sprintf(`{"client": %d, "amount": "99.00", "currency": "USD"}`, c))), http.StatusCreated)
	if n := e.Count(t, "payments"); n != 6 {
		t.Fatalf("%d payments after an expired key, want 6", n)
	}

	// A bad key is a 400 naming the header.
	for _, key := range []string{strings.Repeat("k", 256), "two words", "ключ"} {
		r := e.Do(withKey(tok, "/api/payments/", key, body))
		if r.Status != http.StatusBadRequest || apptest.WantDetail(t, r)["errors"].(map[string]any)["Idempotency-Key"] == nil {
			t.Errorf("key %q: %s, want 400 on Idempotency-Key", key, r)
		}
	}
	if n := e.Count(t, "payments"); n != 6 {
		t.Fatalf("%d payments after bad keys, want 6", n)
	}
}

// TestIdempotencyKeyConcurrent: ten concurrent requests with one key write
// once, and all get the same answer.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	c := e.Client(t, tok, 0)
	body := map[string]any{"client": c, "amount": "250.00", "currency": "GBP"}
	const n = 10
	answers := make([]*apptest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.Do(withKey(tok, "/api/payments/", "concurrent", body))
		}()
	}
	wg.Wait()
	for i, r := range answers {
		if r.Status != http.StatusCreated || !bytes.Equal(r.Body, answers[0].Body) {
			t.Fatalf("answer %d = %s, answer 0 = %s", i, r, answers[0])
		}
	}
	if got := e.Count(t, "payments"); got != 1 {
		t.Fatalf("%d payments from one key, want 1", got)
	}
	if got := e.Count(t, "idempotency_keys"); got != 1 {
		t.Fatalf("%d idempotency keys, want 1", got)
	}
}
