package httpx_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestTooLargeBodyThroughProxy: a 5 MB body sent through HAProxy (or
// straight to the server) gets the server's 413 JSON answer with the
// security headers, not a reset: the server answers on the announced length
// (or at the limit of a chunked body) and then reads and discards what is
// still arriving before it closes. Whatever the route and the content type.
func TestTooLargeBodyThroughProxy(t *testing.T) {
	e := identitytest.New(t, nil)
	base := serve(t, e)
	proxy := apptest.HAProxy(t, strings.TrimPrefix(base, "http://"))
	body := []byte(`{"email":"a@example.com","password":"` + strings.Repeat("x", 5<<20) + `"}`)
	client := &http.Client{Timeout: 30 * time.Second}
	cases := []struct {
		name, path, contentType string
		chunked                 bool
	}{
		{"json", "/api/auth/login/", "application/json", false},
		{"no such route", "/api/nothing-here/", "application/json", false},
		{"not json", "/api/auth/login/", "text/plain", false},
		{"chunked", "/api/auth/login/", "application/json", true},
	}
	for _, via := range []struct{ name, base string }{{"proxy", proxy}, {"direct", base}} {
		for _, c := range cases {
			t.Run(via.name+"/"+c.name, func(t *testing.T) {
				for i := range 3 { // each on a new connection: the server closes after a 413
					tooLarge413(t, client, via.base+c.path, c.contentType, body, c.chunked, i)
				}
			})
		}
	}
	// The proxy still serves the next request.
	resp, err := client.Get(proxy + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz through the proxy: %d", resp.StatusCode)
	}
}

// tooLarge413 posts body to url and wants the 413 answer, whole.
func tooLarge413(t *testing.T, client *http.Client, url, contentType string, body []byte, chunked bool, i int) {
	t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length: sent chunked
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("request %d: %v", i, err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("request %d: reading the answer: %v", i, err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("request %d: %d %s, want 413", i, resp.StatusCode, out)
	}
	h := resp.Header
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("request %d: headers %v", i, h)
	}
	var m struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(out, &m) != nil || m.Detail != "Request body too large (limit 1 MiB)." {
		t.Fatalf("request %d: body %q", i, out)
	}
}
