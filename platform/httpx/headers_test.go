package httpx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/httpx"
)

// panicRoute is a test-only route whose handler panics with a message that
// must never reach the client.
var panicRoute = httpx.AsRoutes(func() []httpx.Route {
	return []httpx.Route{httpx.Public(httpx.Op(http.MethodGet, "/api/test-panic/", "testPanic", "Panics (tests only)"),
		func(context.Context, *struct{}) (*struct{}, error) { panic("boom: secret-internal-detail") })}
})

// serve runs the app on a real listener (413 and 431 are answered by the
// HTTP server itself, before any handler, which app.Test cannot show).
func serve(t *testing.T, e *identitytest.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.Server.Serve(ln) }()
	t.Cleanup(func() { _ = e.Server.App.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// TestSecurityHeadersOnEveryAnswer: success, 400, 401, 404, 405, 413, 415,
// 431 and a panic all carry nosniff and no-store, are JSON with a detail
// (errors), and name no server, version or stack.
// tooLarge marks the case whose body is announced (2 MiB) and never sent.
const tooLarge = "<2 MiB announced>"

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	e := identitytest.New(t, panicRoute)
	acme := e.Account("Acme")
	base := serve(t, e)
	client := &http.Client{Timeout: 10 * time.Second}

	cases := []struct {
		name   string
		method string
		path   string
		header map[string]string
		body   string
		status int
	}{
		{"success", http.MethodGet, "/api/auth/me/", map[string]string{"Authorization": "Bearer " + acme.Owner.Token}, "", http.StatusOK},
		{"health", http.MethodGet, "/healthz", nil, "", http.StatusOK},
		{"8 KiB of headers served", http.MethodGet, "/api/auth/me/", map[string]string{"Authorization": "Bearer " + acme.Owner.Token, "X-Pad": strings.Repeat("a", 7<<10)}, "", http.StatusOK},
		{"bad json", http.MethodPost, "/api/auth/login/", map[string]string{"Content-Type": "application/json"}, "{", http.StatusBadRequest},
		{"nul in query", http.MethodGet, "/api/employees/?search=%00", map[string]string{"Authorization": "Bearer " + acme.Owner.Token}, "", http.StatusBadRequest},
		{"unauthenticated", http.MethodGet, "/api/employees/", nil, "", http.StatusUnauthorized},
		{"bad token", http.MethodGet, "/api/employees/", map[string]string{"Authorization": "Bearer x.y.z"}, "", http.StatusUnauthorized},
		{"not found", http.MethodGet, "/api/nothing-here/", nil, "", http.StatusNotFound},
		{"not found with token", http.MethodGet, "/api/employees/999999/", map[string]string{"Authorization": "Bearer " + acme.Owner.Token}, "", http.StatusNotFound},
		{"method not allowed", http.MethodDelete, "/api/auth/me/", map[string]string{"Authorization": "Bearer " + acme.Owner.Token}, "", http.StatusMethodNotAllowed},
		{"method not allowed, no slash", http.MethodPut, "/api/auth/login", nil, "", http.StatusMethodNotAllowed},
		// Announced, not sent: the server answers 413 on the length alone
		// (TestTooLargeBodyThroughProxy sends such bodies whole).
		{"too large", http.MethodPost, "/api/auth/login/", map[string]string{"Content-Type": "application/json"}, tooLarge, http.StatusRequestEntityTooLarge},
		{"not json", http.MethodPost, "/api/auth/login/", map[string]string{"Content-Type": "text/plain"}, "email=a", http.StatusUnsupportedMediaType},
		{"headers too large", http.MethodGet, "/api/auth/me/", map[string]string{"X-Pad": strings.Repeat("a", 20<<10)}, "", http.StatusRequestHeaderFieldsTooLarge},
		{"panic", http.MethodGet, "/api/test-panic/", nil, "", http.StatusInternalServerError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reqBody io.Reader = strings.NewReader(c.body)
			if c.body == tooLarge {
				pr, pw := io.Pipe()
				defer pw.Close()
				reqBody = pr
			}
			req, err := http.NewRequest(c.method, base+c.path, reqBody)
			if err != nil {
				t.Fatal(err)
			}
			if c.body == tooLarge {
				req.ContentLength = 2 << 20
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			h := resp.Header
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
				t.Fatalf("headers %v", h)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("Content-Type %q: %s", h.Get("Content-Type"), body)
			}
			for _, name := range []string{"Server", "X-Powered-By", "X-AspNet-Version"} {
				if v := h.Get(name); v != "" {
					t.Fatalf("%s: %q reveals the server", name, v)
				}
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("not JSON: %q", body)
			}
			if c.status >= 400 {
				if d, _ := m["detail"].(string); d == "" {
					t.Fatalf("no detail: %s", body)
				}
			}
			low := strings.ToLower(string(body))
			for _, leak := range []string{"goroutine", ".go:", "runtime/", "fiber", "fasthttp", "huma", "panic", "boom", "secret-internal-detail", "sql"} {
				if strings.Contains(low, leak) {
					t.Fatalf("body reveals %q: %s", leak, body)
				}
			}
			if c.path == "/healthz" && (len(m) != 1 || m["status"] != "ok") {
				t.Fatalf("/healthz says more than its status (no version): %s", body)
			}
			if c.status == http.StatusMethodNotAllowed && h.Get("Allow") == "" {
				t.Fatalf("405 without Allow: %v", h)
			}
		})
	}
}

// TestMalformedRequestAnsweredAsJSON: a request the HTTP parser refuses
// before any handler (a control character in a header, a broken request
// line) is still answered as JSON with nosniff and no-store.
func TestMalformedRequestAnsweredAsJSON(t *testing.T) {
	e := identitytest.New(t, nil)
	base := serve(t, e)
	addr := strings.TrimPrefix(base, "http://")
	for _, raw := range []string{
		"GET /api/auth/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \x00\r\n\r\n",
		"GET /api/auth/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x01b\r\n\r\n",
		"GET /api/employees/?search=a b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET\r\n\r\n",
	} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			conn.Close()
			t.Fatalf("%q: %v", raw, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%q: %d %s, want 400 or 401", raw, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Server") != "" {
			t.Errorf("%q: headers %v", raw, resp.Header)
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m["detail"] == nil {
			t.Errorf("%q: %d not JSON with a detail: %q", raw, resp.StatusCode, body)
		}
	}
}
