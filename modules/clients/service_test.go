package clients_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"testing"

	"crm/modules/clients"
	"crm/platform/apptest"
	"crm/platform/auth"
	"crm/platform/db"
	"crm/platform/journal"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// journalRow is what the test sink writes, in the write's own transaction.
type journalRow struct {
	bun.BaseModel `bun:"table:test_journal"`
	Action        string `bun:"action"`
	ObjectType    string `bun:"object_type"`
	ObjectID      int64  `bun:"object_id"`
	Changes       string `bun:"changes"`
	HasObject     bool   `bun:"has_object"`
}

type tableSink struct{}

func (tableSink) Write(ctx context.Context, tx bun.IDB, e *journal.Entry) error {
	ch, err := json.Marshal(e.Changes)
	if err != nil {
		return err
	}
	_, err = tx.NewInsert().Model(&journalRow{Action: string(e.Action), ObjectType: string(e.ObjectType), ObjectID: e.ObjectID,
		Changes: string(ch), HasObject: e.Object != nil}).Exec(ctx)
	return err
}

// createJournal creates the table tableSink writes. On PostgreSQL the app
// serves as crm_app, which may use only the tables granted to it: the test
// grants it this one.
func createJournal(t *testing.T, d *bun.DB) {
	t.Helper()
	qs := []string{`CREATE TABLE test_journal (action TEXT, object_type TEXT, object_id BIGINT, changes TEXT, has_object BOOLEAN)`}
	if db.DialectOf(d) == db.Postgres {
		qs = append(qs, `GRANT SELECT, INSERT ON test_journal TO crm_app`)
	}
	for _, q := range qs {
		if _, err := d.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
}

func journalRows(t *testing.T, db *bun.DB) []journalRow {
	t.Helper()
	var rows []journalRow
	if err := db.NewSelect().Model(&rows).Where("object_type = 'client'").Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestWritesAreJournaled: every write records its entry in its own
// transaction; a status change records status_change too; a refused write
// records nothing.
func TestWritesAreJournaled(t *testing.T) {
	e := newEnv(t, journal.AsSink(func() tableSink { return tableSink{} }))
	createJournal(t, e.DB)
	a := e.Account("Journal")
	tok := a.Owner.Token
	c := create(t, e, tok, body("status", "onboarding"))
	apptest.Expect(t, e.Patch(tok, clientPath(c.ID), map[string]any{"notes": "hello"}), http.StatusOK)
	apptest.Expect(t, e.Patch(tok, clientPath(c.ID), map[string]any{"status": "active"}), http.StatusOK)
	apptest.Expect(t, e.Patch(tok, clientPath(c.ID), map[string]any{"status": "active"}), http.StatusOK) // no change
	apptest.Expect(t, e.Patch(tok, clientPath(c.ID), map[string]any{"status": "bogus"}), http.StatusBadRequest)
	apptest.Expect(t, e.Delete(tok, clientPath(c.ID)), http.StatusNoContent)

	rows := journalRows(t, e.DB)
	var got []string
	for _, r := range rows {
		if r.ObjectID != c.ID {
			t.Fatalf("entry %+v", r)
		}
		got = append(got, r.Action)
	}
	want := []string{"create", "update", "update", "status_change", "delete"}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("actions %v, want %v", got, want)
		}
	}
	for _, r := range rows {
		switch r.Action {
		case "status_change":
			if r.Changes != `{"status":{"old":"onboarding","new":"active"}}` || !r.HasObject {
				t.Fatalf("status_change %+v", r)
			}
		case "delete":
			// The client as it was: every field, nulls included.
			var ch map[string]struct{ Old, New any }
			if err := json.Unmarshal([]byte(r.Changes), &ch); err != nil {
				t.Fatal(err)
			}
			if r.HasObject || ch["email"].Old != c.Email || ch["status"].Old != "active" || ch["notes"].Old != "hello" || len(ch) != 14 {
				t.Fatalf("delete entry %+v", r)
			}
			if _, ok := ch["coach"]; !ok {
				t.Fatalf("delete entry without the null coach: %s", r.Changes)
			}
		default:
			if !r.HasObject {
				t.Fatalf("%s without the object", r.Action)
			}
		}
	}
}

// TestDeleteWithBillingRecordsIs409: a row that references the client the
// way billing tables do (account_id, client_id) makes the delete a 409 that
// deletes nothing. The billing module's own tests repeat this on its tables.
func TestDeleteWithBillingRecordsIs409(t *testing.T) {
	e := newEnv(t, journal.AsSink(func() tableSink { return tableSink{} }))
	ctx := t.Context()
	createJournal(t, e.DB)
	if _, err := e.DB.ExecContext(ctx, `CREATE TABLE test_billing (account_id BIGINT NOT NULL, client_id BIGINT NOT NULL,
		FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id))`); err != nil {
		t.Fatal(err)
	}
	a := e.Account("Billing")
	c := create(t, e, a.Owner.Token, body())
	if _, err := e.DB.ExecContext(ctx, `INSERT INTO test_billing (account_id, client_id) VALUES (?, ?)`, a.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	r := apptest.Expect(t, e.Delete(a.Owner.Token, clientPath(c.ID)), http.StatusConflict)
	apptest.FieldErrors(t, r)
	apptest.Expect(t, e.Get(a.Owner.Token, clientPath(c.ID)), http.StatusOK)
	for _, row := range journalRows(t, e.DB) {
		if row.Action == "delete" {
			t.Fatal("a refused delete was journaled")
		}
	}
	if _, err := e.DB.ExecContext(ctx, `DELETE FROM test_billing`); err != nil {
		t.Fatal(err)
	}
	apptest.Expect(t, e.Delete(a.Owner.Token, clientPath(c.ID)), http.StatusNoContent)
}

// TestReadableAndExists: what billing and catalog ask of the clients service.
func TestReadableAndExists(t *testing.T) {
	var svc *clients.Service
	e := newEnv(t, fx.Populate(&svc))
	a := e.Account("Acme")
	b := e.Account("Beta")
	emp := a.Employee("employee")
	viewer := a.Employee("employee", "view_all_clients")
	mine := create(t, e, a.Owner.Token, body("closer", emp.ID))
	other := create(t, e, a.Owner.Token, body())
	foreign := create(t, e, b.Owner.Token, body())

	as := func(id int64, role string, perms ...string) context.Context {
		ctx := tenant.WithAccount(context.Background(), a.ID)
		return auth.WithPrincipal(ctx, &auth.Principal{EmployeeID: id, AccountID: a.ID, Role: role, Permissions: perms})
	}
	readable := func(ctx context.Context) map[int64]bool {
		t.Helper()
		sub, err := svc.Readable(ctx)
		if err != nil || sub == nil {
			t.Fatalf("Readable: %v, %v", sub, err)
		}
		// The ids it selects, whatever account they are in (read as the
		// owner, who sees every account).
		var got []int64
		if err := e.DB.NewSelect().TableExpr("(?) AS r", sub).Column("r.id").Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		m := map[int64]bool{}
		for _, id := range got {
			m[id] = true
		}
		return m
	}
	if sub, err := svc.Readable(as(a.Owner.ID, "super_admin")); err != nil || sub != nil {
		t.Fatalf("super_admin: %v, %v", sub, err)
	}
	if sub, err := svc.Readable(as(viewer.ID, "employee", "view_all_clients")); err != nil || sub != nil {
		t.Fatalf("viewer: %v, %v", sub, err)
	}
	if got := readable(as(emp.ID, "employee")); len(got) != 1 || !got[mine.ID] {
		t.Fatalf("employee reads %v", got)
	}
	if _, err := svc.Readable(context.Background()); err == nil {
		t.Fatal("Readable without an account must fail")
	}

	ctx := as(emp.ID, "employee")
	for id, want := range map[int64]bool{mine.ID: true, other.ID: true, foreign.ID: false, 987654321: false} {
		got, err := svc.Exists(ctx, e.DB, id)
		if err != nil || got != want {
			t.Fatalf("Exists(%d) = %v, %v; want %v", id, got, err, want)
		}
	}
	if _, err := svc.Exists(context.Background(), e.DB, mine.ID); err == nil {
		t.Fatal("Exists without an account must fail")
	}
}
