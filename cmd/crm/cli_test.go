package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"crm/platform/dbtest"
	"crm/policies"
)

func cliEnv(t *testing.T) {
	t.Setenv("CRM_DATABASE_URL", dbtest.URL(t))
	t.Setenv("CRM_JWT_SECRET", "cli-test-secret-0123456789-0123456789")
	t.Setenv("CRM_ARGON2_MEMORY_KIB", "1024")
	t.Setenv("CRM_ARGON2_TIME", "1")
	t.Setenv("CRM_POLICY_DIR", "")
}

func TestAccountsCreateAndMigrate(t *testing.T) {
	cliEnv(t)
	var out bytes.Buffer
	// The password comes from standard input when --password is absent.
	if err := run([]string{"accounts", "create", "--name", "Acme", "--email", "Owner@Acme.example.com"}, strings.NewReader("a-long-password\n"), &out); err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil || id <= 0 {
		t.Fatalf("printed %q, want the new account id", out.String())
	}
	// A second account with the same email is refused.
	if err := run([]string{"accounts", "create", "--name", "Beta", "--email", "owner@acme.example.com", "--password", "a-long-password"}, nil, &out); err == nil {
		t.Fatal("duplicate email accepted")
	}
	// A weak password is refused.
	if err := run([]string{"accounts", "create", "--name", "Gamma", "--email", "g@example.com", "--password", "12345678"}, nil, &out); err == nil {
		t.Fatal("all-digit password accepted")
	}
	// Migrations are idempotent.
	for range 2 {
		if err := run([]string{"migrate"}, nil, &out); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"policy", "check"}, nil, &out); err != nil {
		t.Fatalf("embedded policy: %v", err)
	}
	dir := t.TempDir()
	entries, _ := policies.FS.ReadDir(".")
	for _, e := range entries {
		b, _ := policies.FS.ReadFile(e.Name())
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{"policy", "check", dir}, nil, &out); err != nil {
		t.Fatalf("copied policy: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zz-broken.csv"), []byte("# ok\np, admin, *, clients, read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"policy", "check", dir}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "zz-broken.csv:2") {
		t.Fatalf("broken policy: err = %v, want it to name zz-broken.csv:2", err)
	}
}
