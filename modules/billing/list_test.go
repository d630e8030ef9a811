package billing_test

import (
	"net/http"
	"slices"
	"testing"

	"crm/platform/apptest"
)

// TestListFiltersOrderingPagination: each list's filters of the contract,
// its ordering whitelist and the DRF pagination.
func TestListFiltersOrderingPagination(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	tok := w.tokens["admin"]
	mine, other := w.mine, w.other
	p1 := payment(t, e, tok, mine, "5.00", "EUR", "failed")
	p2 := payment(t, e, tok, other, "7.50", "EUR", "refunded")
	p3 := payment(t, e, tok, other, "0.01", "GBP", "disputed")
	i2 := w.instalment(t, mine, w.cp[mine], 2)
	apptest.Expect(t, e.Patch(tok, path("/api/installments/%d/", i2), map[string]any{"status": "paid"}), http.StatusOK)
	apptest.Expect(t, e.Patch(tok, path("/api/stripe-customers/%d/", w.sc[other]), map[string]any{"status": "inactive"}), http.StatusOK)

	for _, c := range []struct {
		path string
		want []int64
	}{
		{path("/api/payments/?client=%d", mine), []int64{w.pay[mine], p1}},
		{"/api/payments/?status=refunded", []int64{p2}},
		{"/api/payments/?currency=eur", []int64{p1, p2}},
		{path("/api/payments/?client=%d&currency=GBP", other), []int64{p3}},
		{path("/api/installments/?client=%d", other), []int64{w.ins[other]}},
		{"/api/installments/?status=paid", []int64{i2}},
		{path("/api/installments/?client_package=%d", w.cp[mine]), []int64{w.ins[mine], i2}},
		{path("/api/stripe-customers/?client=%d", mine), []int64{w.sc[mine]}},
		{"/api/stripe-customers/?status=inactive", []int64{w.sc[other]}},
		{"/api/stripe-customers/?status=active", []int64{w.sc[mine]}},
	} {
		got := e.IDs(t, tok, c.path)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s = %v, want %v", c.path, got, c.want)
		}
	}

	// Ordering: amount ascending and descending, ties broken by id.
	if got := e.IDs(t, tok, "/api/payments/?ordering=amount"); !slices.Equal(got, []int64{p3, p1, p2, w.pay[mine], w.pay[other]}) {
		t.Errorf("ordering=amount: %v", got)
	}
	if got := e.IDs(t, tok, "/api/payments/?ordering=-amount"); !slices.Equal(got, []int64{w.pay[other], w.pay[mine], p2, p1, p3}) {
		t.Errorf("ordering=-amount: %v", got)
	}
	if got := e.IDs(t, tok, "/api/installments/?ordering=-instalment_number,id"); got[0] != i2 {
		t.Errorf("ordering=-instalment_number: %v", got)
	}
	for _, p := range []string{"/api/payments/?ordering=password", "/api/installments/?ordering=amount_cents", "/api/stripe-customers/?ordering=-account_id",
		"/api/payments/?status=lost", "/api/installments/?status=late", "/api/stripe-customers/?status=gone", "/api/payments/?currency=EURO",
		"/api/payments/?client=abc"} {
		if r := e.Get(tok, p); r.Status != http.StatusBadRequest {
			t.Errorf("%s = %s, want 400", p, r)
		} else {
			apptest.WantDetail(t, r)
		}
	}

	// Pagination: DRF's page, next and previous; past the end is 404.
	var page struct {
		Count    int     `json:"count"`
		Next     *string `json:"next"`
		Previous *string `json:"previous"`
		Results  []any   `json:"results"`
	}
	apptest.Expect(t, e.Get(tok, "/api/payments/?page_size=2&ordering=id"), http.StatusOK).JSON(t, &page)
	if page.Count != 5 || len(page.Results) != 2 || page.Next == nil || page.Previous != nil {
		t.Fatalf("first page = %+v", page)
	}
	apptest.Expect(t, e.Get(tok, "/api/payments/?page_size=2&ordering=id&page=3"), http.StatusOK).JSON(t, &page)
	if len(page.Results) != 1 || page.Next != nil || page.Previous == nil {
		t.Fatalf("last page = %+v", page)
	}
	apptest.Expect(t, e.Get(tok, "/api/payments/?page_size=2&page=4"), http.StatusNotFound)
	// Without the trailing slash too.
	apptest.Expect(t, e.Get(tok, "/api/payments"), http.StatusOK)
	apptest.Expect(t, e.Get(tok, "/api/payments/statistics"), http.StatusOK)
}
