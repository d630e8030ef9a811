package billing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"crm/modules/audit"
	"crm/platform/apptest"
)

type event struct {
	Action     string `bun:"action"`
	ObjectType string `bun:"object_type"`
	ObjectID   int64  `bun:"object_id"`
	Changes    string `bun:"changes"`
}

// TestEveryWriteIsJournaled: each write records one journal entry in its own
// transaction (read back from the audit log, a journal sink); a refused
// write records nothing.
func TestEveryWriteIsJournaled(t *testing.T) {
	e := newEnvWith(t, audit.Module)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	c := e.Client(t, tok, 0)
	var last int64
	next := func() []event {
		t.Helper()
		var rows []struct {
			ID int64 `bun:"id"`
			event
		}
		if err := e.DB.NewSelect().Table("audit_events").Column("id", "action", "object_type", "object_id", "changes").
			Where("id > ?", last).Where("object_type <> ?", "client").Order("id").Scan(context.Background(), &rows); err != nil {
			t.Fatal(err)
		}
		out := make([]event, len(rows))
		for i, r := range rows {
			out[i] = r.event
			last = r.ID
		}
		return out
	}
	expect := func(what string, want ...event) {
		t.Helper()
		got := next()
		if len(got) != len(want) {
			t.Fatalf("%s: events %+v, want %+v", what, got, want)
		}
		for i := range want {
			if got[i].Action != want[i].Action || got[i].ObjectType != want[i].ObjectType || got[i].ObjectID != want[i].ObjectID {
				t.Fatalf("%s: event %+v, want %+v", what, got[i], want[i])
			}
		}
	}
	next()

	pkg := e.Create(t, tok, "/api/packages/", map[string]any{"package_name": "P"})
	expect("create package", event{Action: "create", ObjectType: "package", ObjectID: pkg})
	apptest.Expect(t, e.Patch(tok, path("/api/packages/%d/", pkg), map[string]any{"description": "d"}), http.StatusOK)
	expect("update package", event{Action: "update", ObjectType: "package", ObjectID: pkg})
	apptest.Expect(t, e.Patch(tok, path("/api/packages/%d/", pkg), map[string]any{"description": "d"}), http.StatusOK)
	expect("no change")

	cp := e.Create(t, tok, "/api/client-packages/", map[string]any{
		"client": c, "package": pkg, "custom_price": 10, "payment_schedule": "PIF", "start_date": "2025-01-01"})
	expect("create client package", event{Action: "create", ObjectType: "client_package", ObjectID: cp})

	p := payment(t, e, tok, c, "10.00", "USD", "paid")
	expect("record payment", event{Action: "create", ObjectType: "payment", ObjectID: p})
	apptest.Expect(t, e.Patch(tok, path("/api/payments/%d/", p), map[string]any{"status": "refunded"}), http.StatusOK)
	got := next()
	if len(got) != 1 || got[0].Action != "status_change" || got[0].ObjectType != "payment" {
		t.Fatalf("payment status change: %+v", got)
	}
	var ch map[string]struct{ Old, New any }
	if err := json.Unmarshal([]byte(got[0].Changes), &ch); err != nil || ch["status"].Old != "paid" || ch["status"].New != "refunded" || len(ch) != 1 {
		t.Fatalf("payment status change changes = %s", got[0].Changes)
	}

	ins := e.Create(t, tok, "/api/installments/", map[string]any{
		"client": c, "client_package": cp, "amount": 1, "currency": "USD", "schedule_date": "2025-01-01", "instalment_number": 1})
	expect("create instalment", event{Action: "create", ObjectType: "instalment", ObjectID: ins})
	apptest.Expect(t, e.Patch(tok, path("/api/installments/%d/", ins), map[string]any{"amount": "2.00"}), http.StatusOK)
	expect("update instalment", event{Action: "update", ObjectType: "instalment", ObjectID: ins})
	apptest.Expect(t, e.Patch(tok, path("/api/installments/%d/", ins), map[string]any{"status": "paid"}), http.StatusOK)
	expect("instalment paid", event{Action: "status_change", ObjectType: "instalment", ObjectID: ins})

	sc := e.Create(t, tok, "/api/stripe-customers/", map[string]any{"client": c, "stripe_customer_id": "cus_1"})
	expect("create stripe customer", event{Action: "create", ObjectType: "stripe_customer", ObjectID: sc})

	// Refused writes record nothing.
	e.Post(tok, "/api/payments/", map[string]any{"client": c, "amount": "1.001", "currency": "USD"})
	e.Post(tok, "/api/stripe-customers/", map[string]any{"client": c, "stripe_customer_id": "cus_1"})
	e.Delete(tok, path("/api/client-packages/%d/", cp))
	e.Delete(tok, path("/api/packages/%d/", pkg))
	e.Patch(tok, path("/api/payments/%d/", p), map[string]any{"amount": "3.00"})
	expect("refused writes")

	for _, d := range []struct{ path, typ string }{
		{path("/api/stripe-customers/%d/", sc), "stripe_customer"}, {path("/api/installments/%d/", ins), "instalment"},
	} {
		apptest.Expect(t, e.Delete(tok, d.path), http.StatusNoContent)
	}
	apptest.Expect(t, e.Delete(tok, path("/api/client-packages/%d/", cp)), http.StatusNoContent)
	apptest.Expect(t, e.Delete(tok, path("/api/packages/%d/", pkg)), http.StatusNoContent)
	expect("deletes", event{Action: "delete", ObjectType: "stripe_customer", ObjectID: sc}, event{Action: "delete", ObjectType: "instalment", ObjectID: ins},
		event{Action: "delete", ObjectType: "client_package", ObjectID: cp}, event{Action: "delete", ObjectType: "package", ObjectID: pkg})
}
