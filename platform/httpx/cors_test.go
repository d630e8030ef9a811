package httpx_test

import (
	"net/http"
	"strings"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

const frontend = "https://app.example.com"

func corsEnv(t *testing.T, credentials bool, origins ...string) *identitytest.Env {
	return identitytest.New(t, nil, func(c *config.Config) {
		c.CORSOrigins = origins
		c.CORSCredentials = credentials
	})
}

func preflight(env *identitytest.Env, origin, path, method, headers string) *apptest.Response {
	return env.Do(apptest.Request{Method: http.MethodOptions, Path: path, Headers: map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  method,
		"Access-Control-Request-Headers": headers,
	}})
}

func get(env *identitytest.Env, token, path, origin string) *apptest.Response {
	return env.Do(apptest.Request{Method: http.MethodGet, Path: path, Token: token, Headers: map[string]string{"Origin": origin}})
}

func TestCORSAllowedOrigin(t *testing.T) {
	env := corsEnv(t, false, frontend, "http://localhost:5173")
	acc := env.Account("Cors")

	r := apptest.Expect(t, get(env, acc.Owner.Token, "/api/employees/", frontend), http.StatusOK)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != frontend {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, frontend)
	}
	if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("credentials allowed without CRM_CORS_CREDENTIALS: %q", got)
	}
	for _, h := range []string{"X-Request-ID", "Retry-After", "Idempotent-Replayed"} {
		if got := r.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, h) {
			t.Errorf("Access-Control-Expose-Headers = %q, want %s in it", got, h)
		}
	}
	if got := r.Header.Values("Vary"); !strings.Contains(strings.Join(got, ","), "Origin") {
		t.Errorf("Vary = %q, want Origin (caches must not mix origins)", got)
	}
	// Errors carry the headers too, so the frontend can read the JSON detail.
	r = apptest.Expect(t, get(env, "", "/api/auth/me/", frontend), http.StatusUnauthorized)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != frontend {
		t.Errorf("401: Access-Control-Allow-Origin = %q, want %q", got, frontend)
	}
	// The second origin of the list, and an origin differing only in case.
	r = apptest.Expect(t, get(env, "", "/healthz", "http://localhost:5173"), http.StatusOK)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
		t.Errorf("second origin: Access-Control-Allow-Origin = %q", got)
	}
}

func TestCORSUnknownOrigin(t *testing.T) {
	env := corsEnv(t, true, frontend)
	acc := env.Account("Cors")
	for _, origin := range []string{"https://evil.example.com", "https://app.example.com.evil.com", "http://app.example.com", "null"} {
		r := apptest.Expect(t, get(env, acc.Owner.Token, "/api/employees/", origin), http.StatusOK)
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"} {
			if got := r.Header.Get(h); got != "" {
				t.Errorf("origin %s: %s = %q, want none", origin, h, got)
			}
		}
		p := preflight(env, origin, "/api/employees/", http.MethodPost, "authorization,content-type")
		if got := p.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want none", origin, got)
		}
	}
}

func TestCORSPreflight(t *testing.T) {
	env := corsEnv(t, false, frontend)
	r := preflight(env, frontend, "/api/employees/", http.MethodPost, "authorization,content-type,idempotency-key,x-request-id")
	apptest.Expect(t, r, http.StatusNoContent)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != frontend {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	allowed := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"authorization", "content-type", "idempotency-key", "x-request-id"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("Access-Control-Allow-Headers = %q, want %s in it", allowed, h)
		}
	}
	methods := r.Header.Get("Access-Control-Allow-Methods")
	for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
		if !strings.Contains(methods, m) {
			t.Errorf("Access-Control-Allow-Methods = %q, want %s in it", methods, m)
		}
	}
	if r.Header.Get("Access-Control-Max-Age") == "" {
		t.Error("no Access-Control-Max-Age: every call would need its own preflight")
	}
	// The path without its slash, and a path with an id.
	apptest.Expect(t, preflight(env, frontend, "/api/employees/7", http.MethodPatch, "authorization,content-type"), http.StatusNoContent)
}

func TestCORSCredentials(t *testing.T) {
	env := corsEnv(t, true, frontend)
	for _, r := range []*apptest.Response{
		get(env, "", "/healthz", frontend),
		preflight(env, frontend, "/api/auth/login/", http.MethodPost, "content-type"),
	} {
		if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("Access-Control-Allow-Credentials = %q, want true", got)
		}
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != frontend {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q (never * with credentials)", got, frontend)
		}
	}
}

func TestCORSOffByDefault(t *testing.T) {
	env := identitytest.New(t, nil)
	if len(env.Config.CORSOrigins) != 0 {
		t.Skip("CRM_CORS_ORIGINS is set in this environment")
	}
	r := apptest.Expect(t, get(env, "", "/healthz", frontend), http.StatusOK)
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("no origin configured, yet %s: %s", k, r.Header.Get(k))
		}
	}
	p := preflight(env, frontend, "/api/employees/", http.MethodPost, "authorization")
	if p.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight answered with CORS headers: %v", p.Header)
	}
	if p.Status < 400 || !strings.Contains(string(p.Body), `"detail"`) {
		t.Errorf("OPTIONS without CORS: %s, want a JSON 4xx", p)
	}
}

func TestCORSConfiguration(t *testing.T) {
	for _, tc := range []struct {
		origins     []string
		credentials bool
		ok          bool
	}{
		{nil, false, true},
		{[]string{" ", ""}, false, true},
		{[]string{"https://app.example.com", "http://localhost:5173"}, true, true},
		{[]string{"HTTPS://App.Example.com/"}, false, true},
		{[]string{"*"}, false, true},
		{[]string{"*"}, true, false},
		{[]string{"app.example.com"}, false, false},
		{[]string{"https://app.example.com/path"}, false, false},
		{[]string{"ftp://app.example.com"}, false, false},
		{[]string{"https://"}, false, false},
	} {
		h, err := httpx.CORS(tc.origins, tc.credentials)
		if (err == nil) != tc.ok {
			t.Errorf("CORS(%q, %v): err = %v, want ok = %v", tc.origins, tc.credentials, err, tc.ok)
		}
		if err == nil && (h == nil) != (strings.TrimSpace(strings.Join(tc.origins, "")) == "") {
			t.Errorf("CORS(%q): handler = %v", tc.origins, h != nil)
		}
	}
	// A bad setting stops the server at start with the reason.
	_, err := identitytestStart(t, []string{"app.example.com"})
	if err == nil || !strings.Contains(err.Error(), "CRM_CORS_ORIGINS") {
		t.Errorf("start with a bad origin: %v", err)
	}
}

// identitytestStart builds the app with the given origins and returns its
// start error.
func identitytestStart(t *testing.T, origins []string) (*fx.App, error) {
	cfg := apptest.TestConfig(t)
	cfg.CORSOrigins = origins
	app := fx.New(fx.Supply(cfg, boot.Version("test")), boot.Module, fx.Provide(boot.NewSigner), identitytest.Base(), fx.NopLogger,
		fx.Invoke(func(*httpx.Server) {}))
	return app, app.Err()
}
