package billing_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"crm/platform/apptest"
)

// TestAssignedWriteScope: when a policy lets employees write billing rows of
// the clients they read ("assigned"), a client they cannot read is the same
// 400 as a missing one as a reference, and its rows are 404.
func TestAssignedWriteScope(t *testing.T) {
	dir := apptest.CopyPolicies(t)
	extra := "p, employee, *, payments, create, assigned\np, employee, *, payments, update, assigned\np, employee, *, instalments, create, assigned\n"
	if err := os.WriteFile(filepath.Join(dir, "zz_test.csv"), []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, apptest.WithPolicyDir(dir))
	w := newWorld(t, e, "Acme")
	tok := w.tokens["employee"]

	apptest.Expect(t, e.Post(tok, "/api/payments/", map[string]any{"client": w.mine, "amount": 1, "currency": "USD"}), http.StatusCreated)
	norm := func(r *apptest.Response, ref int64) string {
		t.Helper()
		if r.Status != http.StatusBadRequest {
			t.Fatalf("reference %d = %s, want 400", ref, r)
		}
		return strings.ReplaceAll(string(r.Body), strconv.FormatInt(ref, 10), "ID")
	}
	unreadable := norm(e.Post(tok, "/api/payments/", map[string]any{"client": w.other, "amount": 1, "currency": "USD"}), w.other)
	missing := norm(e.Post(tok, "/api/payments/", map[string]any{"client": 999999, "amount": 1, "currency": "USD"}), 999999)
	if unreadable != missing {
		t.Fatalf("an unreadable client answers %s, a missing one %s", unreadable, missing)
	}
	norm(e.Post(tok, "/api/installments/", map[string]any{"client": w.other, "amount": 1, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 5}), w.other)

	apptest.Expect(t, e.Patch(tok, path("/api/payments/%d/", w.pay[w.mine]), map[string]any{"status": "failed"}), http.StatusOK)
	apptest.Expect(t, e.Patch(tok, path("/api/payments/%d/", w.pay[w.other]), map[string]any{"status": "failed"}), http.StatusNotFound)
	// The viewer reads every client, so may use every one.
	apptest.Expect(t, e.Post(w.tokens["viewer"], "/api/payments/", map[string]any{"client": w.other, "amount": 1, "currency": "USD"}), http.StatusCreated)
}
