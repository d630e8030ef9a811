package identity_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"crm/modules/audit"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/errs"
	"crm/platform/journal"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// auditEvent is an event as GET /api/audit-events/ shows it.
type auditEvent struct {
	ID         int64  `json:"id"`
	Account    int64  `json:"account"`
	Actor      *int64 `json:"actor"`
	Action     string `json:"action"`
	ObjectType string `json:"object_type"`
	ObjectID   *int64 `json:"object_id"`
	Changes    map[string]struct {
		Old any `json:"old"`
		New any `json:"new"`
	} `json:"changes"`
	RequestID string `json:"request_id"`
	IP        string `json:"ip"`
	At        string `json:"at"`
}

// auditEvents lists the events the token may see, filtered by query.
func auditEvents(t *testing.T, e *identitytest.Env, token, query string) []auditEvent {
	t.Helper()
	r := apptest.Expect(t, e.Get(token, "/api/audit-events/?page_size=200&"+query), http.StatusOK)
	var page struct {
		Count   int          `json:"count"`
		Results []auditEvent `json:"results"`
	}
	r.JSON(t, &page)
	return page.Results
}

// oneEvent expects exactly one event for the query and returns it.
func oneEvent(t *testing.T, e *identitytest.Env, token, query string) auditEvent {
	t.Helper()
	evs := auditEvents(t, e, token, query)
	if len(evs) != 1 {
		t.Fatalf("%s: %d events, want 1: %+v", query, len(evs), evs)
	}
	return evs[0]
}

func actorOf(ev auditEvent) int64 {
	if ev.Actor == nil {
		return 0
	}
	return *ev.Actor
}

func auditCount(t *testing.T, e *identitytest.Env) int64 {
	t.Helper()
	n, err := e.DB.NewSelect().Table("audit_events").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEveryEmployeeChangeHasItsEvent walks an employee through every
// recorded change and reads each event back from the audit log.
func TestEveryEmployeeChangeHasItsEvent(t *testing.T) {
	e := identitytest.New(t, audit.Module)
	acme := e.Account("Acme")
	owner := acme.Owner
	admin := acme.Employee("admin")
	q := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }

	// create
	r := apptest.Expect(t, e.Do(apptest.Request{Method: http.MethodPost, Path: "/api/employees/", Token: owner.Token,
		Headers: map[string]string{"X-Request-ID": "req-create-1"},
		Body:    map[string]any{"name": "Jane", "email": "jane@acme.example.com", "password": identitytest.Password}}), http.StatusCreated)
	var jane struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &jane)
	ev := oneEvent(t, e, owner.Token, q("object_type=employee&object_id=%d&action=create", jane.ID))
	if actorOf(ev) != owner.ID || ev.Account != acme.ID || ev.RequestID != "req-create-1" || ev.IP == "" || ev.At == "" {
		t.Fatalf("create event = %+v", ev)
	}
	if ev.Changes["email"].New != "jane@acme.example.com" || ev.Changes["name"].New != "Jane" || ev.Changes["name"].Old != nil {
		t.Fatalf("create changes = %+v", ev.Changes)
	}
	for k := range ev.Changes {
		if strings.Contains(k, "password") {
			t.Fatalf("create event holds %q", k)
		}
	}

	// update: other fields
	apptest.Expect(t, e.Patch(admin.Token, q("/api/employees/%d/", jane.ID), map[string]any{"name": "Jane Doe", "phone_number": "+15550001"}), http.StatusOK)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=update", jane.ID))
	if actorOf(ev) != admin.ID || ev.Changes["name"].Old != "Jane" || ev.Changes["name"].New != "Jane Doe" ||
		ev.Changes["phone_number"].New != "+15550001" || len(ev.Changes) != 2 {
		t.Fatalf("update event = %+v", ev)
	}

	// one PATCH, three kinds: role, permissions, other fields
	apptest.Expect(t, e.Patch(owner.Token, q("/api/employees/%d/", jane.ID),
		map[string]any{"role": "admin", "permissions": []string{"view_all_clients"}, "job_role": "Coach"}), http.StatusOK)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=role_change", jane.ID))
	if ev.Changes["role"].Old != "employee" || ev.Changes["role"].New != "admin" || len(ev.Changes) != 1 {
		t.Fatalf("role_change = %+v", ev)
	}
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=permission_change", jane.ID))
	if fmt.Sprint(ev.Changes["permissions"].Old) != "[]" || fmt.Sprint(ev.Changes["permissions"].New) != "[view_all_clients]" {
		t.Fatalf("permission_change = %+v", ev)
	}
	if evs := auditEvents(t, e, owner.Token, q("object_id=%d&action=update", jane.ID)); len(evs) != 2 || evs[0].Changes["job_role"].New != "Coach" {
		t.Fatalf("update events = %+v", evs)
	}

	// update_permissions
	apptest.Expect(t, e.Post(owner.Token, q("/api/employees/%d/update_permissions/", jane.ID),
		map[string]any{"permissions": []string{"manage_all_clients", "view_all_clients"}}), http.StatusOK)
	evs := auditEvents(t, e, owner.Token, q("object_id=%d&action=permission_change", jane.ID))
	if len(evs) != 2 || fmt.Sprint(evs[0].Changes["permissions"].New) != "[manage_all_clients view_all_clients]" {
		t.Fatalf("permission events = %+v", evs)
	}

	// login, failed login, logout
	janeToken := e.Login("jane@acme.example.com", identitytest.Password)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=login", jane.ID))
	if actorOf(ev) != jane.ID || ev.Account != acme.ID {
		t.Fatalf("login event = %+v", ev)
	}
	apptest.Expect(t, e.Post("", "/api/auth/login/", map[string]string{"email": "JANE@acme.example.com", "password": "wrong-password"}), http.StatusUnauthorized)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=login_failed", jane.ID))
	if ev.Actor != nil || ev.Account != acme.ID || ev.Changes["email"].New != "jane@acme.example.com" || len(ev.Changes) != 1 {
		t.Fatalf("login_failed event = %+v", ev)
	}
	apptest.Expect(t, e.Post(janeToken, "/api/auth/logout/", nil), http.StatusOK)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=logout", jane.ID))
	if actorOf(ev) != jane.ID {
		t.Fatalf("logout event = %+v", ev)
	}

	// password change: the event, never the value
	apptest.Expect(t, e.Post(owner.Token, q("/api/employees/%d/change_password/", jane.ID), map[string]any{"new_password": "another-good-password"}), http.StatusOK)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=password_change", jane.ID))
	if actorOf(ev) != owner.ID || len(ev.Changes) != 0 {
		t.Fatalf("password_change = %+v", ev)
	}

	// deactivate through PATCH, then delete another employee
	apptest.Expect(t, e.Patch(owner.Token, q("/api/employees/%d/", jane.ID), map[string]any{"is_active": false}), http.StatusOK)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=deactivate", jane.ID))
	if ev.Changes["is_active"].Old != true || ev.Changes["is_active"].New != false {
		t.Fatalf("deactivate = %+v", ev)
	}
	bob := acme.Employee("employee")
	apptest.Expect(t, e.Delete(admin.Token, q("/api/employees/%d/", bob.ID)), http.StatusNoContent)
	ev = oneEvent(t, e, owner.Token, q("object_id=%d&action=deactivate", bob.ID))
	if actorOf(ev) != admin.ID || ev.Changes["is_active"].New != false {
		t.Fatalf("delete event = %+v", ev)
	}
	// Deleting an inactive employee changes nothing and records nothing.
	apptest.Expect(t, e.Delete(admin.Token, q("/api/employees/%d/", bob.ID)), http.StatusNoContent)
	oneEvent(t, e, owner.Token, q("object_id=%d&action=deactivate", bob.ID))

	// The account: update by its super_admin.
	apptest.Expect(t, e.Patch(owner.Token, q("/api/accounts/%d/", acme.ID), map[string]any{"name": "Acme Ltd"}), http.StatusOK)
	ev = oneEvent(t, e, owner.Token, q("object_type=account&action=update"))
	if ev.Changes["name"].Old != "Acme" || ev.Changes["name"].New != "Acme Ltd" || *ev.ObjectID != acme.ID {
		t.Fatalf("account update = %+v", ev)
	}
	// The account and its owner were recorded when the CLI created them.
	if ev := oneEvent(t, e, owner.Token, "object_type=account&action=create"); ev.Actor != nil || ev.Changes["name"].New != "Acme" {
		t.Fatalf("account create = %+v", ev)
	}
	if ev := oneEvent(t, e, owner.Token, q("object_type=employee&object_id=%d&action=create", owner.ID)); ev.Changes["role"].New != "super_admin" {
		t.Fatalf("owner create = %+v", ev)
	}

	// Nothing in the log is a password or a hash.
	var raw []string
	if err := e.DB.NewSelect().Table("audit_events").Column("changes").Scan(context.Background(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, c := range raw {
		if strings.Contains(c, "argon2") || strings.Contains(c, identitytest.Password) || strings.Contains(c, "another-good-password") || strings.Contains(c, "password") {
			t.Fatalf("a secret reached the audit log: %s", c)
		}
	}
}

// TestAuditLogIsTheAccountAdminsAlone: admins read it, employees are
// refused, another account sees none of it.
func TestAuditLogIsTheAccountAdminsAlone(t *testing.T) {
	e := identitytest.New(t, audit.Module)
	acme := e.Account("Acme")
	globex := e.Account("Globex")
	admin := acme.Employee("admin")
	emp := acme.Employee("employee")

	apptest.Expect(t, e.Get(emp.Token, "/api/audit-events/"), http.StatusForbidden)
	apptest.Expect(t, e.Get("", "/api/audit-events/"), http.StatusUnauthorized)
	evs := auditEvents(t, e, admin.Token, "")
	if len(evs) == 0 {
		t.Fatal("admin sees no events")
	}
	for _, ev := range evs {
		if ev.Account != acme.ID {
			t.Fatalf("acme admin sees %+v", ev)
		}
	}
	// Globex sees only its own, and Acme's ids are 404 to it.
	for _, ev := range auditEvents(t, e, globex.Owner.Token, "") {
		if ev.Account != globex.ID {
			t.Fatalf("globex sees %+v", ev)
		}
	}
	for _, ev := range evs {
		r := apptest.Expect(t, e.Get(globex.Owner.Token, fmt.Sprintf("/api/audit-events/%d/", ev.ID)), http.StatusNotFound)
		if r.Map(t)["detail"] == nil {
			t.Fatalf("404 without detail: %s", r.Body)
		}
		apptest.Expect(t, e.Get(admin.Token, fmt.Sprintf("/api/audit-events/%d/", ev.ID)), http.StatusOK)
	}
	// Filtering by another account's object or actor finds nothing.
	if evs := auditEvents(t, e, globex.Owner.Token, fmt.Sprintf("actor=%d", acme.Owner.ID)); len(evs) != 0 {
		t.Fatalf("globex filters acme's actor: %+v", evs)
	}

	// A failed login for an unknown email belongs to no account: stored
	// apart, in audit_events_no_account, and listed to nobody.
	before := auditCount(t, e)
	apptest.Expect(t, e.Post("", "/api/auth/login/", map[string]string{"email": "nobody@nowhere.example.com", "password": "whatever-123"}), http.StatusUnauthorized)
	if auditCount(t, e) != before {
		t.Fatal("the failed login of no account was recorded in an account")
	}
	var orphan string
	if err := e.DB.NewSelect().Table("audit_events_no_account").Column("changes").Where("action = 'login_failed'").Scan(context.Background(), &orphan); err != nil {
		t.Fatalf("the failed login was not recorded: %v", err)
	}
	if !strings.Contains(orphan, "nobody@nowhere.example.com") {
		t.Fatalf("the failed login's event does not name its email: %s", orphan)
	}
	for _, tok := range []string{acme.Owner.Token, globex.Owner.Token} {
		for _, ev := range auditEvents(t, e, tok, "action=login_failed") {
			if ev.Changes["email"].New == "nobody@nowhere.example.com" {
				t.Fatalf("an account-less event is listed: %+v", ev)
			}
		}
	}
}

// failAfterAudit is a second sink, for tests only: it writes the audit event
// itself (so the event is in the transaction whatever the order of sinks),
// checks that the event is there, then fails while armed.
type failAfterAudit struct {
	armed *atomic.Bool
	seen  *atomic.Int64
	audit *audit.Sink
}

func (f *failAfterAudit) Write(ctx context.Context, tx bun.IDB, en *journal.Entry) error {
	if !f.armed.Load() {
		return nil
	}
	before, err := tx.NewSelect().Table("audit_events").Count(ctx)
	if err != nil {
		return err
	}
	if err := f.audit.Write(ctx, tx, en); err != nil {
		return err
	}
	after, err := tx.NewSelect().Table("audit_events").Count(ctx)
	if err != nil {
		return err
	}
	if after == before+1 {
		f.seen.Add(1)
	}
	return errs.Unavailable(errors.New("injected failure after the journal write"))
}

// TestFailedChangeLeavesNeitherChangeNorEvent: when the transaction fails
// after the journal wrote the event, the change and its event are both gone
// (every table as it was); without the fault the same change commits with
// exactly one event more.
func TestFailedChangeLeavesNeitherChangeNorEvent(t *testing.T) {
	var armed atomic.Bool
	var seen atomic.Int64
	faulty := journal.AsSink(func() *failAfterAudit { return &failAfterAudit{armed: &armed, seen: &seen, audit: audit.NewSink()} })
	e := identitytest.New(t, fx.Options(audit.Module, faulty))
	acme := e.Account("Acme")
	owner := acme.Owner
	emp := acme.Employee("employee")
	empToken := e.Login(emp.Email, identitytest.Password)
	ctx := context.Background()

	// state is every row the steps may touch (the login throttle's own
	// bookkeeping aside, which commits on its own by design).
	state := func() string {
		t.Helper()
		var b strings.Builder
		for _, table := range []string{"accounts", "employees", "sessions", "audit_events"} {
			var rows []map[string]any
			if err := e.DB.NewSelect().Table(table).OrderExpr("1").Scan(ctx, &rows); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s: %v\n", table, rows)
		}
		return b.String()
	}
	events := func(action string) int64 {
		t.Helper()
		n, err := e.DB.NewSelect().Table("audit_events").Where("action = ?", action).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	empPath := fmt.Sprintf("/api/employees/%d/", emp.ID)

	steps := []struct {
		action string
		do     func() *apptest.Response
		want   int
	}{
		{"create", func() *apptest.Response {
			return e.Post(owner.Token, "/api/employees/", map[string]any{"name": "X", "email": "x@acme.example.com", "password": identitytest.Password})
		}, http.StatusCreated},
		{"update", func() *apptest.Response { return e.Patch(owner.Token, empPath, map[string]any{"name": "Renamed"}) }, http.StatusOK},
		{"role_change", func() *apptest.Response { return e.Patch(owner.Token, empPath, map[string]any{"role": "admin"}) }, http.StatusOK},
		{"permission_change", func() *apptest.Response {
			return e.Post(owner.Token, empPath+"update_permissions/", map[string]any{"permissions": []string{"view_all_clients"}})
		}, http.StatusOK},
		{"logout", func() *apptest.Response { return e.Post(empToken, "/api/auth/logout/", nil) }, http.StatusOK},
		{"login", func() *apptest.Response {
			return e.Post("", "/api/auth/login/", map[string]string{"email": emp.Email, "password": identitytest.Password})
		}, http.StatusOK},
		{"login_failed", func() *apptest.Response {
			return e.Post("", "/api/auth/login/", map[string]string{"email": emp.Email, "password": "wrong-password"})
		}, http.StatusUnauthorized},
		{"password_change", func() *apptest.Response {
			return e.Post(owner.Token, empPath+"change_password/", map[string]any{"new_password": "brand-new-password"})
		}, http.StatusOK},
		{"deactivate", func() *apptest.Response { return e.Delete(owner.Token, empPath) }, http.StatusNoContent},
		{"update", func() *apptest.Response {
			return e.Patch(owner.Token, fmt.Sprintf("/api/accounts/%d/", acme.ID), map[string]any{"name": "Renamed Inc"})
		}, http.StatusOK},
	}
	for _, st := range steps {
		before, n := state(), events(st.action)
		seenBefore := seen.Load()
		armed.Store(true)
		r := st.do()
		armed.Store(false)
		if r.Status != http.StatusServiceUnavailable || r.Map(t)["detail"] == nil {
			t.Fatalf("%s with a failing sink: %s", st.action, r)
		}
		if seen.Load() != seenBefore+1 {
			t.Fatalf("%s: the event was not written in the transaction before it failed", st.action)
		}
		if after := state(); after != before {
			t.Fatalf("%s: the failed transaction left rows behind:\nbefore %s\nafter  %s", st.action, before, after)
		}
		apptest.Expect(t, st.do(), st.want)
		if got := events(st.action); got != n+1 {
			t.Fatalf("%s: %d events after the change, want %d", st.action, got, n+1)
		}
	}
}
