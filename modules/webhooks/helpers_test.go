package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/modules/billing"
	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/modules/webhooks"
	"crm/platform/apptest"
	"crm/platform/config"
	"crm/platform/journal"

	"go.uber.org/fx"
)

// env is the app with the webhooks module, its worker (not started) and
// its journal.
type env struct {
	*identitytest.Env
	Worker  *webhooks.Worker
	Journal *journal.Journal
}

// fast makes retries quick and lets endpoints be on loopback.
func fast(c *config.Config) {
	c.WebhooksAllowPrivate = true
	c.WebhooksPollInterval = 20 * time.Millisecond
	c.WebhooksRetryBase = 20 * time.Millisecond
	c.WebhooksRetryMax = 100 * time.Millisecond
	c.WebhooksTimeout = 5 * time.Second
	c.WebhooksOverdueScan = 0 // tests scan explicitly
}

func newEnv(t *testing.T, extra fx.Option, opts ...apptest.Option) *env {
	t.Helper()
	e := &env{}
	if extra == nil {
		extra = fx.Options()
	}
	e.Env = identitytest.New(t, fx.Options(business(), webhooks.Module, extra, fx.Populate(&e.Worker, &e.Journal)), opts...)
	return e
}

// business is the modules whose changes become events.
func business() fx.Option {
	return fx.Options(clients.Module, catalog.Module, billing.Module)
}

// start runs the worker until the test ends.
func (e *env) start(t *testing.T) {
	e.Worker.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Worker.Stop(ctx)
	})
}

// received is one request a receiver accepted.
type received struct {
	Event   webhooks.Event
	Raw     map[string]any
	Headers http.Header
}

// receiver is an HTTP server that verifies the Crm-Signature of what it
// gets with the endpoint's secret, independently of the sender's code.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	got      []received
	bad      int
	failures int // answer 500 to this many requests first
	calls    int
	delay    time.Duration
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if !verify(r.secret, req.Header.Get("Crm-Signature"), body, 5*time.Minute) {
		r.bad++
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if r.failures > 0 {
		r.failures--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var ev webhooks.Event
	var raw map[string]any
	if json.Unmarshal(body, &ev) != nil || json.Unmarshal(body, &raw) != nil {
		r.bad++
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	r.got = append(r.got, received{Event: ev, Raw: raw, Headers: req.Header.Clone()})
	w.WriteHeader(http.StatusNoContent)
}

// verify checks "t=TS,v1=HEX" as a receiver would: HMAC-SHA256 of
// "TS.BODY" with the secret, and a timestamp within tolerance.
func verify(secret, header string, body []byte, tolerance time.Duration) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" || secret == "" {
		return false
	}
	if d := time.Since(time.Unix(n, 0)); d > tolerance || d < -tolerance {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(sig))
}

func (r *receiver) events() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) types() []string {
	var out []string
	for _, g := range r.events() {
		out = append(out, g.Event.Type)
	}
	return out
}

// waitFor polls until cond holds or fails the test after the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// register creates an endpoint through the API and gives the receiver its
// secret.
func register(t *testing.T, e *env, token string, r *receiver, types ...string) map[string]any {
	t.Helper()
	body := map[string]any{"url": r.URL + "/hook", "event_types": types}
	out := apptest.Expect(t, e.Post(token, "/api/webhook-endpoints/", body), http.StatusCreated).Map(t)
	secret, _ := out["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create response has no secret: %v", out)
	}
	r.setSecret(secret)
	return out
}

func id(m map[string]any) string { return strconv.FormatInt(int64(m["id"].(float64)), 10) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
