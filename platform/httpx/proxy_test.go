package httpx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
)

const haproxyBin = "/usr/sbin/haproxy"

// haproxy runs a real HAProxy in HTTP mode in front of backend (host:port)
// and returns its base URL. Without HAProxy the test is skipped, unless CI
// is set: in CI it fails.
func haproxy(t *testing.T, backend string) string {
	t.Helper()
	if _, err := os.Stat(haproxyBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (apt-get install -y haproxy); CI must run the proxy test", haproxyBin)
		}
		t.Skipf("%s is not installed: apt-get install -y haproxy", haproxyBin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	conf := fmt.Sprintf(`global
    maxconn 64

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend api
    bind %s
    default_backend app

backend app
    server app %s
`, addr, backend)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(haproxyBin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("haproxy exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not listen on %s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTooLargeBodyThroughProxy: a 5 MB body sent through HAProxy (or
// straight to the server) gets the server's 413 JSON answer with the
// security headers, not a reset: the server answers on the announced length
// (or at the limit of a chunked body) and then reads and discards what is
// still arriving before it closes. Whatever the route and the content type.
func TestTooLargeBodyThroughProxy(t *testing.T) {
	e := identitytest.New(t, nil)
	base := serve(t, e)
	proxy := haproxy(t, strings.TrimPrefix(base, "http://"))
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
