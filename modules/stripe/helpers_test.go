package stripe_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crm/modules/audit"
	"crm/modules/billing"
	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/modules/stripe"
	"crm/modules/webhooks"
	"crm/platform/apptest"

	"github.com/stripe/stripe-go/v82/webhook"
	"go.uber.org/fx"
)

const testSecret = "whsec_test_0123456789abcdef0123456789abcdef"

type env struct {
	*identitytest.Env
}

// newEnv starts the app with clients, catalog, billing and stripe, bound as
// cmd/crm binds them.
func newEnv(t *testing.T, extra fx.Option) *env {
	t.Helper()
	if extra == nil {
		extra = fx.Options()
	}
	return &env{identitytest.New(t, fx.Options(
		clients.Module, catalog.Module, billing.Module, stripe.Module,
		audit.Module, webhooks.Module, // journal sinks, as in cmd/crm (the delivery worker is not started)
		extra))}
}

var clientSeq atomic.Int64

// client creates a client through the API and returns its id and email.
func client(t *testing.T, e *env, token string) (int64, string) {
	t.Helper()
	n := clientSeq.Add(1)
	email := fmt.Sprintf("Client%d@Example.com", n)
	out := apptest.Expect(t, e.Post(token, "/api/clients/", map[string]any{"first_name": "Client", "last_name": fmt.Sprint(n), "email": email}), http.StatusCreated).Map(t)
	return int64(out["id"].(float64)), email
}

// list returns the results of a list the token can read.
func list(t *testing.T, e *env, token, path string) []map[string]any {
	t.Helper()
	var page struct {
		Results []map[string]any `json:"results"`
	}
	apptest.Expect(t, e.Get(token, path), http.StatusOK).JSON(t, &page)
	return page.Results
}

// one returns the only result of a list, failing otherwise.
func one(t *testing.T, e *env, token, path string) map[string]any {
	t.Helper()
	rows := list(t, e, token, path)
	if len(rows) != 1 {
		t.Fatalf("%s: %d rows, want 1: %v", path, len(rows), rows)
	}
	return rows[0]
}

// hook is an account's Stripe webhook as Stripe would call it.
type hook struct {
	e      *env
	path   string
	secret string
}

// setup sets the account's signing secret and returns its webhook.
func setup(t *testing.T, e *env, tenant *identitytest.Tenant) *hook {
	t.Helper()
	out := apptest.Expect(t, e.Put(tenant.Owner.Token, "/api/stripe-settings/", map[string]any{"webhook_secret": testSecret}), http.StatusOK).Map(t)
	path, _ := out["endpoint_path"].(string)
	if !strings.HasPrefix(path, stripe.PathPrefix) || out["secret_set"] != true {
		t.Fatalf("settings = %v", out)
	}
	return &hook{e: e, path: path, secret: testSecret}
}

var eventSeq atomic.Int64

// event builds a Stripe event of type typ around object, created at
// created (seconds), with a fresh id unless id is given.
func event(typ string, created int64, object map[string]any, id ...string) []byte {
	evID := fmt.Sprintf("evt_test_%d_%d", time.Now().UnixNano(), eventSeq.Add(1))
	if len(id) > 0 {
		evID = id[0]
	}
	b, err := json.Marshal(map[string]any{
		"id": evID, "object": "event", "api_version": "2024-06-20", "created": created, "livemode": false,
		"pending_webhooks": 1, "type": typ, "data": map[string]any{"object": object},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// send posts payload signed now with the hook's secret.
func (h *hook) send(t *testing.T, payload []byte) *apptest.Response {
	t.Helper()
	return h.sendSigned(t, payload, h.secret, time.Now())
}

func (h *hook) sendSigned(t *testing.T, payload []byte, secret string, at time.Time) *apptest.Response {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	return h.e.Do(apptest.Request{Method: http.MethodPost, Path: h.path, Body: payload,
		Headers: map[string]string{"Stripe-Signature": signed.Header}})
}

// apply sends payload and expects a 200 with the given outcome.
func (h *hook) apply(t *testing.T, payload []byte, outcome string) map[string]any {
	t.Helper()
	out := apptest.Expect(t, h.send(t, payload), http.StatusOK).Map(t)
	if out["outcome"] != outcome {
		t.Fatalf("outcome = %v, want %s (%v)", out["outcome"], outcome, out)
	}
	return out
}

func signedHeader(payload []byte, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header
}

func itoa(n int64) string { return fmt.Sprint(n) }
