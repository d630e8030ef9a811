package clients_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"crm/platform/apptest"
)

// TestPolicyEditGrantsReadAll: the visibility of clients comes from the
// policy files. Editing clients.csv while the app runs (no restart, no code
// change) to give employees read on all clients lets an employee see every
// client; restoring the file takes it away again.
func TestPolicyEditGrantsReadAll(t *testing.T) {
	dir := apptest.CopyPolicies(t)
	e := newEnv(t, nil, apptest.WithPolicyDir(dir))
	// The watcher boot.Serve starts with the server.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Authz.Watch(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	a := e.Account("Policy")
	emp := a.Employee("employee")
	mine := create(t, e, a.Owner.Token, body("coach", emp.ID))
	other := create(t, e, a.Owner.Token, body())
	create(t, e, a.Owner.Token, body("status", "paused"))

	if p := list(t, e, emp.Token, "/api/clients/"); p.Count != 1 || p.Results[0].ID != mine.ID {
		t.Fatalf("before the edit: %+v", p)
	}
	apptest.Expect(t, e.Get(emp.Token, clientPath(other.ID)), http.StatusNotFound)

	path := filepath.Join(dir, "clients.csv")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(append([]byte{}, orig...), "\np, employee, *, clients, read, all\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return list(t, e, emp.Token, "/api/clients/").Count == 3 })
	apptest.Expect(t, e.Get(emp.Token, clientPath(other.ID)), http.StatusOK)
	if s := stats(t, e, emp.Token, "/api/clients/statistics/"); s.Total != 3 || s.Paused != 1 {
		t.Fatalf("statistics after the edit: %+v", s)
	}
	// my_clients stays the assigned ones; writing still needs a grant.
	if p := list(t, e, emp.Token, "/api/clients/my_clients/"); p.Count != 1 {
		t.Fatalf("my_clients after the edit: %+v", p)
	}
	apptest.Expect(t, e.Patch(emp.Token, clientPath(other.ID), map[string]any{"notes": "x"}), http.StatusForbidden)

	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return list(t, e, emp.Token, "/api/clients/").Count == 1 })
	apptest.Expect(t, e.Get(emp.Token, clientPath(other.ID)), http.StatusNotFound)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}
