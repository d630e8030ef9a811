package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"crm/platform/apptest"
	"crm/platform/dbtest"
)

// demoOutput is what `crm seed demo` printed: the password and the logins.
type demoOutput struct {
	password string
	logins   map[string][]string // role -> emails
}

func parseDemo(t *testing.T, out string) demoOutput {
	t.Helper()
	d := demoOutput{logins: map[string][]string{}}
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "Every demo login has the password: "); ok {
			d.password = strings.TrimSpace(p)
		}
		f := strings.Fields(line)
		if len(f) >= 2 && slices.Contains([]string{"super_admin", "admin", "employee"}, f[0]) && strings.Contains(f[1], "@") {
			d.logins[f[0]] = append(d.logins[f[0]], f[1])
		}
	}
	if d.password == "" || len(d.logins["super_admin"]) != 1 || len(d.logins["admin"]) == 0 || len(d.logins["employee"]) == 0 {
		t.Fatalf("the demo output has no password or logins:\n%s", out)
	}
	return d
}

// demoEnv points the CLI at a fresh database (SQLite, or PostgreSQL when
// CRM_TEST_POSTGRES_URL is set) with a cheap password hash.
func demoEnv(t *testing.T) string {
	url := dbtest.URL(t)
	t.Setenv("CRM_DATABASE_URL", url)
	t.Setenv("CRM_JWT_SECRET", "demo-test-secret-0123456789-abcdefghij")
	t.Setenv("CRM_ARGON2_MEMORY_KIB", "1024")
	t.Setenv("CRM_ARGON2_TIME", "1")
	t.Setenv("CRM_LOG_LEVEL", "error")
	t.Setenv("CRM_POLICY_DIR", "")
	return url
}

func login(t *testing.T, a *apptest.App, email, password string) string {
	t.Helper()
	r := apptest.Expect(t, a.Post("", "/api/auth/login/", map[string]string{"email": email, "password": password}), http.StatusOK)
	var out struct {
		Token string `json:"token"`
		User  struct {
			Email       string `json:"email"`
			AccountName string `json:"account_name"`
		} `json:"user"`
	}
	r.JSON(t, &out)
	if out.Token == "" || out.User.Email != email || out.User.AccountName != DemoAccountName {
		t.Fatalf("login %s: %s", email, r.Body)
	}
	return out.Token
}

// all reads every page of a list.
func all(t *testing.T, a *apptest.App, token, path string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for next := path; next != ""; {
		var page struct {
			Count   int              `json:"count"`
			Next    *string          `json:"next"`
			Results []map[string]any `json:"results"`
		}
		apptest.Expect(t, a.Get(token, next), http.StatusOK).JSON(t, &page)
		rows = append(rows, page.Results...)
		next = ""
		if page.Next != nil {
			next = strings.TrimPrefix(*page.Next, "http://example.com")
		}
	}
	return rows
}

func distinct(rows []map[string]any, field string) []string {
	var out []string
	for _, r := range rows {
		if s, ok := r[field].(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// A fresh database, `crm seed demo`, then the printed logins work and the
// demo data is there, through the API.
func TestSeedDemoLoginsWorkAndDataIsThere(t *testing.T) {
	url := demoEnv(t)
	var out bytes.Buffer
	if err := run([]string{"seed", "demo"}, nil, &out); err != nil {
		t.Fatalf("crm seed demo: %v\n%s", err, out.String())
	}
	demo := parseDemo(t, out.String())

	a := apptest.New(t, Modules(), apptest.WithDatabaseURL(url))
	tokens := map[string]string{}
	for role, emails := range demo.logins {
		for _, e := range emails {
			tokens[e] = login(t, a, e, demo.password)
		}
		var me struct {
			Role string `json:"role"`
		}
		apptest.Expect(t, a.Get(tokens[emails[0]], "/api/auth/me/"), http.StatusOK).JSON(t, &me)
		if me.Role != role {
			t.Errorf("%s is %q, printed as %q", emails[0], me.Role, role)
		}
	}
	owner := tokens[demo.logins["super_admin"][0]]

	clients := all(t, a, owner, "/api/clients/")
	if got, want := distinct(clients, "status"), []string{"active", "cancelled", "inactive", "onboarding", "paused"}; !slices.Equal(got, want) {
		t.Errorf("client statuses = %v, want every status %v", got, want)
	}
	payments := all(t, a, owner, "/api/payments/")
	if got := distinct(payments, "currency"); len(got) < 3 {
		t.Errorf("payment currencies = %v, want three", got)
	}
	if got, want := distinct(payments, "status"), []string{"disputed", "failed", "paid", "refunded"}; !slices.Equal(got, want) {
		t.Errorf("payment statuses = %v, want %v", got, want)
	}
	var stats struct {
		TotalPayments int `json:"total_payments"`
		ByCurrency    []struct {
			Currency string `json:"currency"`
		} `json:"totals_by_currency"`
	}
	apptest.Expect(t, a.Get(owner, "/api/payments/statistics/"), http.StatusOK).JSON(t, &stats)
	if stats.TotalPayments != len(payments) || len(stats.ByCurrency) < 3 {
		t.Errorf("payment statistics %+v for %d payments", stats, len(payments))
	}
	installments := all(t, a, owner, "/api/installments/")
	if got, want := distinct(installments, "status"), []string{"closed", "failed", "open", "paid"}; !slices.Equal(got, want) {
		t.Errorf("instalment statuses = %v, want %v", got, want)
	}
	if n := len(all(t, a, owner, "/api/packages/")); n < 3 {
		t.Errorf("%d packages", n)
	}
	cps := all(t, a, owner, "/api/client-packages/")
	if got := distinct(cps, "payment_schedule"); len(got) != 4 {
		t.Errorf("client package schedules = %v, want PIF, Monthly, Quarterly and Yearly", got)
	}
	if n := len(all(t, a, owner, "/api/stripe-customers/")); n == 0 {
		t.Error("no Stripe customer")
	}
	employees := all(t, a, owner, "/api/employees/")
	if n := len(employees); n < 5 {
		t.Errorf("%d employees", n)
	}

	// A coach without view_all_clients reads only her own clients and their
	// payments: the demo shows the role rules too.
	for _, e := range demo.logins["employee"] {
		mine := all(t, a, tokens[e], "/api/clients/")
		if len(mine) == 0 || len(mine) > len(clients) {
			t.Errorf("%s reads %d of %d clients", e, len(mine), len(clients))
		}
	}
	ana := tokens["ana@"+demoDomain]
	if n := len(all(t, a, ana, "/api/clients/")); n >= len(clients) {
		t.Errorf("the coach reads %d of %d clients, want only hers", n, len(clients))
	}
	if n := len(all(t, a, ana, "/api/payments/")); n >= len(payments) {
		t.Errorf("the coach reads %d of %d payments, want only her clients'", n, len(payments))
	}

	// Seeding again is refused, and changes nothing.
	out.Reset()
	err := run([]string{"seed", "demo"}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "exist") {
		t.Errorf("second crm seed demo: %v", err)
	}
	if n := len(all(t, a, owner, "/api/clients/")); n != len(clients) {
		t.Errorf("after a refused second seed: %d clients, want %d", n, len(clients))
	}
	if err := run([]string{"seed", "demo", "extra"}, nil, &out); err == nil {
		t.Error("crm seed demo extra: no usage error")
	}
}

// `crm serve --demo` on an empty database seeds the demo and prints its
// login; started again on the same database it adds nothing.
func TestServeDemoSeedsAnEmptyDatabaseOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	url := demoEnv(t)
	bin := crmBinary(t)
	out := serveDemoBinary(t, bin, "  curl ")
	demo := parseDemo(t, out)

	a := apptest.New(t, Modules(), apptest.WithDatabaseURL(url))
	token := login(t, a, demo.logins["super_admin"][0], demo.password)
	if n := len(all(t, a, token, "/api/clients/")); n == 0 {
		t.Error("no client after serve --demo")
	}

	again := serveDemoBinary(t, bin, "already has")
	if strings.Contains(again, "password") {
		t.Errorf("the second serve --demo printed logins again:\n%s", again)
	}
}

// serveDemoBinary runs `crm serve --demo` until it prints a line holding
// marker, checks that the server answers, stops it and returns its output.
func serveDemoBinary(t *testing.T, bin, marker string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(bin, "serve", "--demo")
	cmd.Env = append(os.Environ(), "CRM_HTTP_ADDR="+addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	deadline := time.After(60 * time.Second)
	for seen := false; !seen; {
		select {
		case l, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("crm serve --demo ended:\n%s\n%s", out.String(), stderr.String())
			}
			out.WriteString(l + "\n")
			seen = strings.Contains(l, marker)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("crm serve --demo printed no %q:\n%s\n%s", marker, out.String(), stderr.String())
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the server does not answer after the demo: %v", err)
	}
	if resp != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	_ = cmd.Process.Signal(os.Interrupt)
	go func() {
		for range lines {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("crm serve --demo did not stop cleanly: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Error("crm serve --demo did not stop on SIGINT")
	}
	return out.String()
}
