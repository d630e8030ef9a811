package authz_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"crm/platform/authz"
	"crm/policies"
)

func TestEmbeddedPolicyLoads(t *testing.T) {
	p, err := authz.Load(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsPermission("view_all_clients") || !p.IsPermission("manage_all_clients") {
		t.Fatalf("permissions = %v", p.Permissions())
	}
	if !p.Manages("super_admin", "admin") || !p.Manages("admin", "admin") || p.Manages("admin", "super_admin") || p.Manages("employee", "admin") {
		t.Fatal("role ranks wrong")
	}
	if s := p.ScopeOf("employee", nil, 1, "employees", "update"); s != authz.Own {
		t.Fatalf("employee update scope = %v", s)
	}
	if s := p.ScopeOf("admin", nil, 1, "employees", "update"); s != authz.All {
		t.Fatalf("admin update scope = %v (inherits own, holds all)", s)
	}
	if s := p.ScopeOf("employee", nil, 1, "employees", "create"); s != authz.None {
		t.Fatalf("employee create scope = %v", s)
	}
}

func TestCheckNamesFileAndLine(t *testing.T) {
	model, _ := policies.FS.ReadFile("model.conf")
	roles, _ := policies.FS.ReadFile("roles.csv")
	cases := map[string]string{
		"p, admin, *, clients\n":                   "bad.csv:2:",
		"p, admin, *, clients, read, everything\n": "bad.csv:2: scope",
		"x, admin\n":                           "bad.csv:2: unknown line type",
		"p, wizard, *, clients, read, all\n":   "bad.csv:2: subject \"wizard\"",
		"p, admin, acme, clients, read, all\n": "bad.csv:2: account",
		"g, admin, wizard\n":                   "bad.csv:2: g lines",
	}
	for line, want := range cases {
		fs := fstest.MapFS{
			"model.conf": {Data: model},
			"roles.csv":  {Data: roles},
			"bad.csv":    {Data: []byte("# a comment\n" + line)},
		}
		err := authz.Check(fs)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to contain %q", line, err, want)
		}
	}
}
