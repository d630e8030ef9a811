package identity_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestPolicyEditedWhileRunning edits the policy files of a running app: a
// valid edit takes effect without a restart, a broken one is refused and
// the policy in force stays.
func TestPolicyEditedWhileRunning(t *testing.T) {
	dir := apptest.CopyPolicies(t)
	e := identitytest.New(t, nil, apptest.WithPolicyDir(dir))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Authz.Watch(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	a := e.Account("Acme")
	emp := a.Employee("employee")
	apptest.Expect(t, e.Post(emp.Token, "/api/employees/", newEmployee("employee")), http.StatusForbidden)

	// Grant employees the creation of employees in this account only, the
	// way an editor saves: write a new file and rename it over the old one.
	path := filepath.Join(dir, "identity.csv")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := string(orig) + "\np, employee, " + itoa(a.ID) + ", employees, create, all\n"
	tmp := filepath.Join(dir, ".identity.csv.swp")
	if err := os.WriteFile(tmp, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return e.Post(emp.Token, "/api/employees/", newEmployee("employee")).Status == http.StatusCreated
	})

	// Another account is not affected by a line for this one.
	b := e.Account("Beta")
	bemp := b.Employee("employee")
	apptest.Expect(t, e.Post(bemp.Token, "/api/employees/", newEmployee("employee")), http.StatusForbidden)

	// A broken file is refused: the policy in force stays.
	if err := os.WriteFile(path, []byte(edited+"\np, employee, *, employees\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	apptest.Expect(t, e.Post(emp.Token, "/api/employees/", newEmployee("employee")), http.StatusCreated)
	apptest.Expect(t, e.Get(a.Owner.Token, "/api/employees/"), http.StatusOK)

	// Restoring the original file takes the grant away again.
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return e.Post(emp.Token, "/api/employees/", newEmployee("employee")).Status == http.StatusForbidden
	})
	if !strings.Contains(string(orig), "employees") {
		t.Fatal("unexpected policy file")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}
