package billing_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/db"
)

type totalKey struct {
	account          int64
	currency, status string
}

type total struct{ n, cents int64 }

// retotal sums the payments rows of every account per currency and status,
// as payment_totals should hold them.
func retotal(t *testing.T, e *identitytest.Env) map[totalKey]total {
	t.Helper()
	var rows []struct {
		AccountID   int64
		Currency    string
		Status      string
		AmountCents int64
	}
	if err := e.DB.NewSelect().Table("payments").Column("account_id", "currency", "status", "amount_cents").Scan(t.Context(), &rows); err != nil {
		t.Fatal(err)
	}
	want := map[totalKey]total{}
	for _, r := range rows {
		k := totalKey{r.AccountID, r.Currency, r.Status}
		want[k] = total{want[k].n + 1, want[k].cents + r.AmountCents}
	}
	return want
}

// checkTotals fails unless payment_totals (rows at zero left out) equals a
// recount of the rows, and the statistics of the account's owner (which the
// totals answer), unfiltered and filtered by status and currency, equal the
// recount.
func checkTotals(t *testing.T, e *identitytest.Env, a *identitytest.Tenant) {
	t.Helper()
	var rows []struct {
		AccountID   int64
		Currency    string
		Status      string
		N           int64
		AmountCents int64
	}
	if err := e.DB.NewSelect().Table("payment_totals").Column("account_id", "currency", "status", "n", "amount_cents").Scan(t.Context(), &rows); err != nil {
		t.Fatal(err)
	}
	// A total is the sum of its slot rows (PostgreSQL); one slot alone may
	// be negative, a sum may not.
	got := map[totalKey]total{}
	for _, r := range rows {
		k := totalKey{r.AccountID, r.Currency, r.Status}
		got[k] = total{got[k].n + r.N, got[k].cents + r.AmountCents}
	}
	for k, v := range got {
		if v.n < 0 || v.cents < 0 {
			t.Fatalf("negative total %+v %+v", k, v)
		}
		if v == (total{}) {
			delete(got, k)
		}
	}
	want := retotal(t, e)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("payment_totals %v\n      recount %v", got, want)
	}
	var made []madePayment
	for k, v := range want {
		if k.account != a.ID {
			continue
		}
		// expected() sums payments: one with the whole sum and the rest at 0.
		made = append(made, madePayment{cents: v.cents, currency: k.currency, status: k.status})
		for range v.n - 1 {
			made = append(made, madePayment{currency: k.currency, status: k.status})
		}
	}
	for _, q := range []string{"", "?status=paid", "?currency=usd", "?status=failed&currency=EUR"} {
		var st statistics
		apptest.Expect(t, e.Get(a.Owner.Token, "/api/payments/statistics/"+q), http.StatusOK).JSON(t, &st)
		w := expected(made, func(p madePayment) bool {
			switch q {
			case "?status=paid":
				return p.status == "paid"
			case "?currency=usd":
				return p.currency == "USD"
			case "?status=failed&currency=EUR":
				return p.status == "failed" && p.currency == "EUR"
			}
			return true
		})
		if !reflect.DeepEqual(st, w) {
			t.Fatalf("statistics%s\n got %+v\nwant %+v", q, st, w)
		}
	}
}

// TestPaymentTotalsFollowEveryWrite: after payments created, their status
// changed through the API, an amount changed and a payment deleted by
// another writer (straight SQL, as a bulk job would), in two accounts, and
// after concurrent creates and status changes, the totals equal a recount
// and the statistics equal it.
func TestPaymentTotalsFollowEveryWrite(t *testing.T) {
	e := newEnv(t)
	a := e.Account("Totals")
	other := e.Account("Totals Other")
	tok := a.Owner.Token
	clients := []int64{e.Client(t, tok, 0), e.Client(t, tok, 0)}
	otherClient := e.Client(t, other.Owner.Token, 0)
	currencies := []string{"USD", "EUR", "GBP"}
	statuses := []string{"paid", "failed", "refunded", "disputed"}
	var ids []int64
	for i := range 24 {
		ids = append(ids, payment(t, e, tok, clients[i%2], cents(int64(i*1237+1)), currencies[i%3], statuses[i%4]))
		payment(t, e, other.Owner.Token, otherClient, "10.00", currencies[i%3], "paid")
	}
	checkTotals(t, e, a)

	for i, id := range ids {
		if i%3 == 0 {
			apptest.Expect(t, e.Patch(tok, path("/api/payments/%d/", id), map[string]any{"status": statuses[(i+1)%4]}), http.StatusOK)
		}
	}
	// Refused changes change nothing.
	apptest.Expect(t, e.Patch(tok, path("/api/payments/%d/", ids[1]), map[string]any{"amount": "1.00"}), http.StatusForbidden)
	apptest.Expect(t, e.Patch(tok, path("/api/payments/%d/", ids[1]), map[string]any{"status": "gone"}), http.StatusBadRequest)
	checkTotals(t, e, a)

	// Another writer: the triggers keep the totals whoever writes.
	ctx := t.Context()
	if _, err := e.DB.ExecContext(ctx, "UPDATE payments SET amount_cents = amount_cents + 101 WHERE id = ?", ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.ExecContext(ctx, "UPDATE payments SET currency = 'JPY', status = 'paid' WHERE id IN (?, ?)", ids[4], ids[5]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.ExecContext(ctx, "DELETE FROM payments WHERE id = ?", ids[7]); err != nil {
		t.Fatal(err)
	}
	checkTotals(t, e, a)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for r := range 4 {
				res := e.Post(tok, "/api/payments/", map[string]any{"client": clients[r%2], "amount": cents(int64(w*100 + r + 1)),
					"currency": currencies[(w+r)%3], "status": "paid", "payment_date": "2025-02-01"})
				if res.Status != http.StatusCreated {
					errs <- fmt.Errorf("create: %s", res)
					continue
				}
				if (w+r)%2 == 0 {
					var p struct{ ID int64 }
					if err := json.Unmarshal(res.Body, &p); err != nil {
						errs <- err
						continue
					}
					if res := e.Patch(tok, path("/api/payments/%d/", p.ID), map[string]any{"status": statuses[1+(w+r)%3]}); res.Status != http.StatusOK {
						errs <- fmt.Errorf("patch: %s", res)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	checkTotals(t, e, a)
	if db.DialectOf(e.DB) == db.Postgres {
		// The concurrent writers ran on several connections of the pool,
		// so they wrote several slots of the totals.
		var slots int
		if err := e.DB.QueryRowContext(ctx, "SELECT count(DISTINCT slot) FROM payment_totals WHERE account_id = ?", a.ID).Scan(&slots); err != nil {
			t.Fatal(err)
		}
		if slots < 2 {
			t.Fatalf("the totals of 8 concurrent writers are in %d slot", slots)
		}
	}
}
