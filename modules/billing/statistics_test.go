package billing_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"testing"

	"crm/platform/apptest"
)

type currencyTotals struct {
	Currency    string `json:"currency"`
	Count       int    `json:"count"`
	TotalAmount string `json:"total_amount"`
	PaidAmount  string `json:"paid_amount"`
	Paid        int    `json:"paid"`
	Failed      int    `json:"failed"`
	Refunded    int    `json:"refunded"`
	Disputed    int    `json:"disputed"`
}

type statistics struct {
	TotalPayments    int              `json:"total_payments"`
	TotalAmount      string           `json:"total_amount"`
	Paid             int              `json:"paid"`
	Failed           int              `json:"failed"`
	Refunded         int              `json:"refunded"`
	Disputed         int              `json:"disputed"`
	TotalsByCurrency []currencyTotals `json:"totals_by_currency"`
}

type madePayment struct {
	client   int64
	cents    int64
	currency string
	status   string
}

func cents(n int64) string { return fmt.Sprintf("%d.%02d", n/100, n%100) }

// expected computes the statistics of ps in integer cents, as a user would.
func expected(ps []madePayment, keep func(madePayment) bool) statistics {
	st := statistics{TotalsByCurrency: []currencyTotals{}}
	var total int64
	type acc struct {
		currencyTotals
		total, paid int64
	}
	by := map[string]*acc{}
	for _, p := range ps {
		if !keep(p) {
			continue
		}
		a := by[p.currency]
		if a == nil {
			a = &acc{currencyTotals: currencyTotals{Currency: p.currency}}
			by[p.currency] = a
		}
		a.Count++
		a.total += p.cents
		total += p.cents
		st.TotalPayments++
		switch p.status {
		case "paid":
			a.Paid++
			a.paid += p.cents
			st.Paid++
		case "failed":
			a.Failed++
			st.Failed++
		case "refunded":
			a.Refunded++
			st.Refunded++
		case "disputed":
			a.Disputed++
			st.Disputed++
		}
	}
	st.TotalAmount = cents(total)
	for _, a := range by {
		a.TotalAmount, a.PaidAmount = cents(a.total), cents(a.paid)
		st.TotalsByCurrency = append(st.TotalsByCurrency, a.currencyTotals)
	}
	sort.Slice(st.TotalsByCurrency, func(i, j int) bool { return st.TotalsByCurrency[i].Currency < st.TotalsByCurrency[j].Currency })
	return st
}

// TestStatisticsEqualSumsPerCurrency: the statistics equal the sums the test
// computes from what it created, per currency, for each role's view and
// with each list filter.
func TestStatisticsEqualSumsPerCurrency(t *testing.T) {
	e := newEnv(t)
	acme := e.Account("Acme")
	emp := acme.Employee("employee")
	tok := acme.Owner.Token
	clientIDs := []int64{e.Client(t, tok, emp.ID), e.Client(t, tok, 0), e.Client(t, tok, 0)}
	currencies := []string{"USD", "EUR", "GBP", "JPY"}
	statuses := []string{"paid", "failed", "refunded", "disputed"}
	var made []madePayment
	for i := int64(0); i < 40; i++ {
		p := madePayment{client: clientIDs[i%3], cents: (i*7919)%100000 + i%7, currency: currencies[i%4], status: statuses[(i/2)%4]}
		var amount any = cents(p.cents)
		if i%2 == 0 {
			amount = json.Number(cents(p.cents)) // a JSON number, not a string
		}
		payment(t, e, tok, p.client, amount, p.currency, p.status)
		made = append(made, p)
	}
	// Another account's payments never count.
	other := e.Account("Globex")
	payment(t, e, other.Owner.Token, e.Client(t, other.Owner.Token, 0), "5000.00", "USD", "paid")

	all := func(madePayment) bool { return true }
	cases := []struct {
		name  string
		token string
		query string
		keep  func(madePayment) bool
	}{
		{"admin, all", tok, "", all},
		{"employee, assigned clients only", emp.Token, "", func(p madePayment) bool { return p.client == clientIDs[0] }},
		{"status filter", tok, "?status=paid", func(p madePayment) bool { return p.status == "paid" }},
		{"currency filter (any case)", tok, "?currency=eur", func(p madePayment) bool { return p.currency == "EUR" }},
		{"client filter", tok, path("?client=%d", clientIDs[1]), func(p madePayment) bool { return p.client == clientIDs[1] }},
		{"filters together", tok, path("?client=%d&status=failed&currency=USD", clientIDs[2]), func(p madePayment) bool {
			return p.client == clientIDs[2] && p.status == "failed" && p.currency == "USD"
		}},
		{"employee asking for another client", emp.Token, path("?client=%d", clientIDs[1]), func(madePayment) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got statistics
			apptest.Expect(t, e.Get(c.token, "/api/payments/statistics/"+c.query), http.StatusOK).JSON(t, &got)
			want := expected(made, c.keep)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("statistics%s\n got %+v\nwant %+v", c.query, got, want)
			}
			// The list agrees on the count.
			if n := len(e.IDs(t, c.token, "/api/payments/"+c.query)); n != want.TotalPayments {
				t.Fatalf("list%s has %d payments, statistics %d", c.query, n, want.TotalPayments)
			}
		})
	}
	// A bad filter is a 400 naming it.
	r := apptest.Expect(t, e.Get(tok, "/api/payments/statistics/?currency=ZZZ"), http.StatusBadRequest)
	if _, ok := apptest.WantDetail(t, r)["errors"].(map[string]any)["currency"]; !ok {
		t.Fatalf("bad currency: %s", r)
	}
	apptest.Expect(t, e.Get(tok, "/api/payments/statistics/?status=lost"), http.StatusBadRequest)
}
