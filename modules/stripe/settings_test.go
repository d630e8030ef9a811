package stripe_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"crm/platform/apptest"
)

func TestSettingsWriteOnly(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")

	before := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/stripe-settings/"), http.StatusOK).Map(t)
	if before["secret_set"] != false || before["endpoint_path"] != nil {
		t.Fatalf("before = %v", before)
	}
	apptest.Expect(t, e.Put(acme.Owner.Token, "/api/stripe-settings/", map[string]any{}), http.StatusBadRequest)
	apptest.Expect(t, e.Put(acme.Owner.Token, "/api/stripe-settings/", map[string]any{"webhook_secret": "sk_live_123456789012345"}), http.StatusBadRequest)
	apptest.Expect(t, e.Put(acme.Owner.Token, "/api/stripe-settings/", map[string]any{"webhook_secret": 42}), http.StatusBadRequest)

	h := setup(t, e, acme)
	token := strings.TrimSuffix(strings.TrimPrefix(h.path, "/api/webhooks/stripe/"), "/")
	if len(token) < 40 || strings.Contains(token, "/") || strings.Contains(h.path, "/"+itoa(acme.ID)+"/") {
		t.Fatalf("path %q is not an unguessable token", h.path)
	}
	for _, r := range []*apptest.Response{
		apptest.Expect(t, e.Get(acme.Owner.Token, "/api/stripe-settings/"), http.StatusOK),
		apptest.Expect(t, e.Get(acme.Owner.Token, "/api/stripe-settings"), http.StatusOK),
		apptest.Expect(t, e.Patch(acme.Owner.Token, "/api/stripe-settings/", map[string]any{"webhook_secret": testSecret + "x"}), http.StatusOK),
	} {
		if strings.Contains(string(r.Body), "whsec_") {
			t.Fatalf("secret shown: %s", r.Body)
		}
		m := r.Map(t)
		if m["secret_set"] != true || m["endpoint_path"] != h.path {
			t.Fatalf("settings = %v", m)
		}
	}
	// Admins and employees may not read or set it.
	for _, u := range []string{acme.Employee("admin").Token, acme.Employee("employee").Token} {
		apptest.Expect(t, e.Get(u, "/api/stripe-settings/"), http.StatusForbidden)
		apptest.Expect(t, e.Put(u, "/api/stripe-settings/", map[string]any{"webhook_secret": testSecret}), http.StatusForbidden)
	}
	// Each account has its own path.
	other := e.Account("Other")
	oh := setup(t, e, other)
	if oh.path == h.path {
		t.Fatal("two accounts share a path")
	}
	// Rotating the path retires the old one.
	rotated := apptest.Expect(t, e.Put(acme.Owner.Token, "/api/stripe-settings/", map[string]any{"rotate_endpoint_path": true}), http.StatusOK).Map(t)
	if rotated["endpoint_path"] == h.path || rotated["secret_set"] != true {
		t.Fatalf("rotated = %v", rotated)
	}
	h.secret = testSecret + "x"
	apptest.Expect(t, h.send(t, event("product.created", time.Now().Unix(), map[string]any{"id": "prod_1"})), http.StatusNotFound)
	h.path = rotated["endpoint_path"].(string)
	h.apply(t, event("product.created", time.Now().Unix(), map[string]any{"id": "prod_1"}), "ignored")
}

func TestSignatureChecks(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	h := setup(t, e, acme)
	payload := event("product.created", time.Now().Unix(), map[string]any{"id": "prod_1"})

	bad := []*apptest.Response{
		// No signature.
		e.Do(apptest.Request{Method: http.MethodPost, Path: h.path, Body: payload}),
		// Garbage header.
		e.Do(apptest.Request{Method: http.MethodPost, Path: h.path, Body: payload, Headers: map[string]string{"Stripe-Signature": "nonsense"}}),
		// Another secret.
		h.sendSigned(t, payload, "whsec_someone_else_entirely_0000", time.Now()),
		// A stale timestamp (outside the 5 minutes' tolerance).
		h.sendSigned(t, payload, h.secret, time.Now().Add(-10*time.Minute)),
	}
	for i, r := range bad {
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"detail"`) {
			t.Errorf("case %d: %s", i, r)
		}
	}
	// A body changed after signing.
	tampered := e.Do(apptest.Request{Method: http.MethodPost, Path: h.path, Body: strings.Replace(string(payload), "prod_1", "prod_2", 1),
		Headers: map[string]string{"Stripe-Signature": signedHeader(payload, h.secret)}})
	apptest.Expect(t, tampered, http.StatusBadRequest)
	// An unknown account path, a numeric one.
	for _, p := range []string{"/api/webhooks/stripe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", "/api/webhooks/stripe/" + itoa(acme.ID) + "/"} {
		r := e.Do(apptest.Request{Method: http.MethodPost, Path: p, Body: payload, Headers: map[string]string{"Stripe-Signature": signedHeader(payload, h.secret)}})
		apptest.Expect(t, r, http.StatusNotFound)
	}
	// A signed body that is not an event.
	apptest.Expect(t, h.send(t, []byte(`{"hello":"world"}`)), http.StatusBadRequest)
	apptest.Expect(t, h.send(t, []byte(`not json`)), http.StatusBadRequest)
	if n := e.CountIn(t, "stripe_events", acme.ID); n != 0 {
		t.Fatalf("%d events stored after refusals", n)
	}

	// A good one: stored once, a redelivery acknowledged without a write.
	first := h.apply(t, payload, "ignored")
	if first["received"] != true || first["duplicate"] != nil {
		t.Fatalf("first = %v", first)
	}
	again := h.apply(t, payload, "ignored")
	if again["duplicate"] != true {
		t.Fatalf("again = %v", again)
	}
	if n := e.CountIn(t, "stripe_events", acme.ID); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}
