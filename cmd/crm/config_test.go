package main

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"crm/cmd/crm/benchdata"
	"crm/platform/dbtest"
)

// without is env less the variable name.
func without(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// runCRMFailing runs a crm command that must fail and returns its exit
// code and standard error.
func runCRMFailing(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(crmBinary(t), args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("crm %s: %v, want a failure; stderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return exit.ExitCode(), stderr.String()
}

// expectConfigError checks a configuration error as the user sees it:
// exit 2, one line on stderr naming the setting, no word of Fx's graph.
func expectConfigError(t *testing.T, code int, stderr, setting string) {
	t.Helper()
	line := strings.TrimSuffix(stderr, "\n")
	if code != 2 || line == "" || strings.Contains(line, "\n") || !strings.HasPrefix(line, "crm: "+setting+" ") {
		t.Errorf("exit %d, stderr %q: want exit 2 and one line starting with %q", code, stderr, "crm: "+setting+" ")
	}
	for _, graph := range []string{"could not build", "fx.", "dig", "function", "failed to build"} {
		if strings.Contains(stderr, graph) {
			t.Errorf("stderr speaks of the dependency graph (%q): %s", graph, stderr)
		}
	}
}

// TestCommandsNeedNoSigningKey: migrate, accounts create, seed demo and
// seed bench sign nothing that leaves the process, so they run without
// CRM_JWT_SECRET, on PostgreSQL as on SQLite. On PostgreSQL serve refuses to
// start without it, in one line naming it, exit 2, before it touches the
// database; with it, the logins the commands made work.
func TestCommandsNeedNoSigningKey(t *testing.T) {
	url := dbtest.URL(t)
	env := without(crmEnv(url, "CRM_ARGON2_MEMORY_KIB=1024", "CRM_ARGON2_TIME=1", "CRM_LOG_LEVEL=info"), "CRM_JWT_SECRET")
	postgres := strings.HasPrefix(url, "postgres")

	if postgres {
		code, stderr := runCRMFailing(t, env, "serve")
		expectConfigError(t, code, stderr, "CRM_JWT_SECRET")
		conn, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var tables int
		if err := conn.QueryRow("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("serve refused to start, yet the database has %d tables: it was migrated first", tables)
		}
	}

	if out := runCRM(t, env, "migrate"); !strings.Contains(out, "database is up to date") {
		t.Errorf("migrate printed %q", out)
	}
	runCRM(t, env, "accounts", "create", "--name", "Acme", "--email", "owner@acme.example.com", "--password", "a-long-password")
	demo := parseDemo(t, runCRM(t, env, "seed", "demo", "--password", "demo-password-123"))
	runCRM(t, env, "seed", "bench", "--clients", "50")

	serveEnv := env
	if postgres {
		serveEnv = append(env, "CRM_JWT_SECRET=process-test-secret-0123456789-abcdefghij")
	}
	p := startServe(t, serveEnv)
	loginToken(t, p.base, "owner@acme.example.com", "a-long-password")
	loginToken(t, p.base, demo.logins["super_admin"][0], demo.password)
	loginToken(t, p.base, "bench@example.com", benchdata.Password)
}

// TestConfigurationErrors: a bad or missing setting is one line naming it,
// exit 2, whichever command and wherever it is found (the environment's
// parse, a check of its form, the database URL, the secret, the policy
// folder, the origins); other failures are exit 1.
func TestConfigurationErrors(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "crm.db")
	env := crmEnv(url, "CRM_LOG_LEVEL=info")
	cases := []struct {
		setting string
		value   string
		args    []string
	}{
		{"CRM_JWT_SECRET", "too-short", []string{"serve"}},
		{"CRM_JWT_PREVIOUS_SECRETS", "retired-but-short", []string{"serve"}},
		{"CRM_DATABASE_URL", "mysql://crm@db/crm", []string{"migrate"}},
		{"CRM_DATABASE_URL", "postgres://crm:hunter2-secret@db:port/crm", []string{"accounts", "create", "--name", "A", "--email", "a@a.example.com", "--password", "a-long-password"}},
		{"CRM_DB_OWNER_URL", "postgres://crm:hunter2-secret@db:port/crm", []string{"seed", "bench", "--clients", "50"}},
		{"CRM_DATABASE_URL", "sqlite:" + filepath.Join(dir, "not-a-folder", "crm.db"), []string{"serve"}},
		{"CRM_TOKEN_TTL", "a day", []string{"serve"}},
		{"CRM_SHUTDOWN_TIMEOUT", "-5s", []string{"serve"}},
		{"CRM_AUTO_MIGRATE", "yes", []string{"seed", "demo"}},
		{"CRM_DB_MAX_OPEN_CONNS", "many", []string{"migrate"}},
		{"CRM_DB_RANDOM_PAGE_COST", "fast", []string{"seed", "bench", "--clients", "50"}},
		{"CRM_LOG_LEVEL", "loud", []string{"serve"}},
		{"CRM_HTTP_ADDR", "8080", []string{"serve"}},
		{"CRM_PPROF_ADDR", "0.0.0.0:6060", []string{"serve"}},
		{"CRM_CORS_ORIGINS", "app.example.com", []string{"serve"}},
		{"CRM_POLICY_DIR", filepath.Join(dir, "no-such-policy"), []string{"serve"}},
	}
	if err := os.WriteFile(filepath.Join(dir, "not-a-folder"), []byte("a file where the data folder would be"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.setting+"/"+c.args[0], func(t *testing.T) {
			code, stderr := runCRMFailing(t, append(env, c.setting+"="+c.value), c.args...)
			expectConfigError(t, code, stderr, c.setting)
			if strings.Contains(stderr, "hunter2-secret") {
				t.Errorf("the error shows the URL's password: %s", stderr)
			}
		})
	}
	// The checks ran before the database was opened: no database file.
	if isFile(filepath.Join(dir, "crm.db")) {
		t.Errorf("a command refused for its settings created the database %s", filepath.Join(dir, "crm.db"))
	}

	// A command finds a bad policy folder when it builds what reads it
	// (accounts create: the new super_admin's role), after it opened the
	// database.
	policyEnv := append(crmEnv(dbtest.URL(t), "CRM_LOG_LEVEL=error"), "CRM_POLICY_DIR="+filepath.Join(dir, "no-such-policy"))
	code, stderr := runCRMFailing(t, policyEnv, "accounts", "create", "--name", "A", "--email", "a@a.example.com", "--password", "a-long-password")
	expectConfigError(t, code, stderr, "CRM_POLICY_DIR")

	// Not configuration: exit 1.
	code, stderr = runCRMFailing(t, crmEnv("postgres://crm@127.0.0.1:1/crm?connect_timeout=5"), "migrate")
	if code != 1 || !strings.Contains(stderr, "connect") {
		t.Errorf("migrate with the database out of reach: exit %d, %q; want exit 1 saying it cannot connect", code, stderr)
	}
}
