package apidocs_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The documentation page, as a person sees it: the real binary serves it,
// headless Chromium opens it, finds the endpoints rendered, signs in with
// "Try it out" on the login, and calls GET /api/auth/me/ from the page with
// the token the page took from the login. Every request the page makes goes
// to the API's own origin: nothing comes from a CDN.
//
// Without Chromium the test is skipped, unless CI is set: in CI it fails.
func TestDocsPageInChromium(t *testing.T) {
	browser := chromium(t)
	srv := startBinary(t)
	const email, password = "owner@docs.example.com", "docs-page-password-1"
	srv.run(t, "accounts", "create", "--name", "Docs Test", "--email", email, "--password", password)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 1600),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	var requested, problems []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requested = append(requested, ev.Request.URL)
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, "console.error: "+strings.Join(args, " "))
			}
		case *cdplog.EventEntryAdded:
			// A refused load (CSP, 404) is logged by the browser itself.
			if ev.Entry.Level == cdplog.EntryLevelError {
				problems = append(problems, "browser log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/api/docs"),
		chromedp.WaitVisible(chromedp.ID("operations-Auth-login")),
	)
	if err != nil {
		t.Fatalf("open the docs page: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "CRM API: documentation" {
		t.Errorf("title = %q", title)
	}
	paths, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('.opblock-summary-path')].map(e => e.getAttribute('data-path'))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/api/auth/login/", "/api/auth/me/", "/api/employees/", "/api/employees/{id}/", "/api/accounts/", "/api/clients/", "/api/payments/", "/api/installments/", "/healthz", "/readyz"} {
		if !slices.Contains(paths, want) {
			t.Errorf("the page does not show %s; it shows %v", want, paths)
		}
	}

	// Sign in from the page: Try it out, the login as the body, Execute.
	body := fmt.Sprintf(`{"email": %q, "password": %q}`, email, password)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#operations-Auth-login .opblock-summary-control`)),
		chromedp.Click(chromedp.CSS(`#operations-Auth-login .try-out__btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#operations-Auth-login textarea.body-param__text`)),
		chromedp.Evaluate[chromedp.Void](setTextarea(`#operations-Auth-login textarea.body-param__text`, body)),
		chromedp.Click(chromedp.CSS(`#operations-Auth-login .execute`)),
		chromedp.WaitVisible(chromedp.CSS(`#operations-Auth-login .live-responses-table tr.response .response-col_status`)),
	)
	if err != nil {
		t.Fatalf("sign in from the page: %v", err)
	}
	loginStatus, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#operations-Auth-login .live-responses-table tr.response .response-col_status`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(loginStatus) != "200" {
		t.Fatalf("login from the page: status %q", loginStatus)
	}
	// The page authorized itself with the token: GET /api/auth/me/ works.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#operations-Auth-me .opblock-summary-control`)),
		chromedp.Click(chromedp.CSS(`#operations-Auth-me .try-out__btn`)),
		chromedp.Click(chromedp.CSS(`#operations-Auth-me .execute`)),
		chromedp.WaitVisible(chromedp.CSS(`#operations-Auth-me .live-responses-table tr.response .response-col_status`)),
	)
	if err != nil {
		t.Fatalf("call GET /api/auth/me/ from the page: %v", err)
	}
	meStatus, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#operations-Auth-me .live-responses-table tr.response .response-col_status`)))
	if err != nil {
		t.Fatal(err)
	}
	meBody, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#operations-Auth-me .live-responses-table tr.response .response-col_description`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(meStatus) != "200" || !strings.Contains(meBody, email) {
		t.Errorf("GET /api/auth/me/ from the page: status %q, body %q", meStatus, meBody)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requested) == 0 {
		t.Fatal("the browser reported no request")
	}
	for _, u := range requested {
		if !strings.HasPrefix(u, srv.base+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page loaded %s, which is not on the API's own origin", u)
		}
	}
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}

// setTextarea sets a React-controlled textarea as typing would.
func setTextarea(selector, value string) string {
	return fmt.Sprintf(`(() => {
		const ta = document.querySelector(%q);
		const set = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
		set.call(ta, %q);
		ta.dispatchEvent(new Event("input", {bubbles: true}));
	})()`, selector, value)
}

// chromium finds the browser, or skips the test outside CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); CI must run the browser test")
	}
	t.Skip("chromium is not installed: apt-get install -y chromium")
	return ""
}

// server is the real crm binary serving on a free port with a fresh SQLite
// database.
type server struct {
	bin  string
	env  []string
	base string
}

func (s *server) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func startBinary(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	// CRM_TEST_BINARY: a crm binary built beforehand (else built here).
	bin := os.Getenv("CRM_TEST_BINARY")
	if bin == "" {
		bin = filepath.Join(dir, "crm")
		build := exec.Command("go", "build", "-o", bin, "crm/cmd/crm")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build crm/cmd/crm: %v\n%s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := &server{bin: bin, base: "http://" + addr, env: append(os.Environ(),
		"CRM_HTTP_ADDR="+addr,
		"CRM_DATABASE_URL=sqlite:"+filepath.Join(dir, "data", "crm.db"),
		"CRM_JWT_SECRET=browser-test-secret-0123456789-abcdef",
		"CRM_ARGON2_MEMORY_KIB=1024", "CRM_ARGON2_TIME=1",
		"CRM_LOG_LEVEL=warn", "CRM_CORS_ORIGINS=", "CRM_POLICY_DIR=",
	)}
	s.run(t, "migrate")
	cmd := exec.Command(bin, "serve")
	cmd.Env = s.env
	logs, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("crm serve log:\n%s", b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("crm serve did not become ready on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
