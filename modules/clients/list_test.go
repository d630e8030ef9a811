package clients_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"crm/platform/apptest"
)

// TestSearch: first name, last name or email, case-insensitive substring;
// %, _ and \ match themselves; an apostrophe is plain text.
func TestSearch(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Search")
	tok := a.Owner.Token
	obrien := create(t, e, tok, body("first_name", "Sean", "last_name", "O'Brien", "email", "sean@obrien.example.com"))
	percent := create(t, e, tok, body("first_name", "100%", "last_name", "Pure", "email", "pure@example.com"))
	under := create(t, e, tok, body("first_name", "Under_Score", "last_name", "Smith", "email", "us@example.com"))
	back := create(t, e, tok, body("first_name", `Back\slash`, "last_name", "Jones", "email", "bs@example.com"))
	mailOnly := create(t, e, tok, body("first_name", "Ann", "last_name", "Lee", "email", "ann.smithers@example.com"))
	plain := create(t, e, tok, body("first_name", "Bob", "last_name", "Under", "email", "bob@example.com"))

	cases := []struct {
		search string
		want   []int64
	}{
		{"%", []int64{percent.ID}},
		{"_", []int64{under.ID}},
		{`\`, []int64{back.ID}},
		{"0%", []int64{percent.ID}},
		{"r_s", []int64{under.ID}},
		{"o'brien", []int64{obrien.ID}},
		{"O'BRIEN", []int64{obrien.ID}},
		{"'", []int64{obrien.ID}},
		{"smith", []int64{under.ID, mailOnly.ID}}, // last name and email
		{"SMITH Ann", []int64{mailOnly.ID}},       // every term must match
		{"smith,under", []int64{under.ID}},        // commas separate terms too
		{"under", []int64{under.ID, plain.ID}},    // first and last name
		{"@obrien.example", []int64{obrien.ID}},   // email
		{"sean o'brien", []int64{obrien.ID}},      // a full name
		{"nobody", nil},                           //
		{"%%", nil},                               // not a wildcard
		{"   ", []int64{obrien.ID, percent.ID, under.ID, back.ID, mailOnly.ID, plain.ID}}, // no term: no filter
	}
	for _, tc := range cases {
		p := list(t, e, tok, "/api/clients/?search="+url.QueryEscape(tc.search))
		got := ids(p)
		if p.Count != len(tc.want) || len(got) != len(tc.want) {
			t.Fatalf("search %q: %d results %v, want %v", tc.search, p.Count, got, tc.want)
		}
		for _, id := range tc.want {
			if !got[id] {
				t.Fatalf("search %q: %d missing", tc.search, id)
			}
		}
		if s := stats(t, e, tok, "/api/clients/statistics/?search="+url.QueryEscape(tc.search)); s.Total != len(tc.want) {
			t.Fatalf("statistics search %q: %+v", tc.search, s)
		}
	}
	// Paging through a search that matches most of the account: every
	// page counts them all, newest first, each once.
	want := []int64{plain.ID, mailOnly.ID, back.ID, under.ID, percent.ID, obrien.ID}
	for page, id := range want {
		p := list(t, e, tok, "/api/clients/?search=example&page_size=1&page="+strconv.Itoa(page+1))
		if p.Count != len(want) || len(p.Results) != 1 || p.Results[0].ID != id {
			t.Fatalf("search example, page %d: count %d, %d results, want client %d first", page+1, p.Count, len(p.Results), id)
		}
	}
	// A control character is refused, never a 500.
	apptest.FieldErrors(t, apptest.Expect(t, e.Get(tok, "/api/clients/?search=a%00b"), http.StatusBadRequest))
	apptest.FieldErrors(t, apptest.Expect(t, e.Get(tok, "/api/clients/?search=1+2+3+4+5+6+7+8+9+10+11"), http.StatusBadRequest))
}

// TestSearchManyMatches: a search matching more clients than one query
// answers with its count (on PostgreSQL, 500: past that the count is taken
// first, then the page walks the ordering's index with the search as a
// filter, or reads the matches, whichever costs less), paged to its end and
// past it, beside a search with few matches and one with none. Another
// account's matches never count.
func TestSearchManyMatches(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Many")
	other := e.Account("Other")
	tok := a.Owner.Token
	const many = 507
	var want []int64 // newest first
	for i := 0; i < many; i++ {
		c := create(t, e, tok, body("first_name", "Ann", "last_name", "Manyfold", "email", fmt.Sprintf("m%d@example.com", i)))
		want = append([]int64{c.ID}, want...)
		if i < 3 {
			create(t, e, tok, body("first_name", "Few", "last_name", "Fewer", "email", fmt.Sprintf("f%d@example.com", i)))
			create(t, e, other.Owner.Token, body("first_name", "Ann", "last_name", "Manyfold", "email", fmt.Sprintf("o%d@example.com", i)))
		}
	}
	seen := map[int64]bool{}
	for _, size := range []int{100, 10} {
		clear(seen)
		for page := 1; ; page++ {
			p := list(t, e, tok, fmt.Sprintf("/api/clients/?search=manyf&page_size=%d&page=%d", size, page))
			if p.Count != many {
				t.Fatalf("page %d of %d: count %d, want %d", page, size, p.Count, many)
			}
			for i, c := range p.Results {
				if k := (page-1)*size + i; c.ID != want[k] || seen[c.ID] {
					t.Fatalf("page %d of %d, row %d: client %d, want %d (seen before: %v)", page, size, i, c.ID, want[k], seen[c.ID])
				}
				seen[c.ID] = true
			}
			if p.Next == nil {
				break
			}
		}
		if len(seen) != many {
			t.Fatalf("pages of %d: %d clients, want %d", size, len(seen), many)
		}
	}
	apptest.Expect(t, e.Get(tok, "/api/clients/?search=manyf&page_size=100&page=7"), http.StatusNotFound)
	if p := list(t, e, tok, "/api/clients/?search=fewer"); p.Count != 3 || len(p.Results) != 3 {
		t.Fatalf("search fewer: %+v", p)
	}
	if p := list(t, e, tok, "/api/clients/?search=zzz"); p.Count != 0 || len(p.Results) != 0 {
		t.Fatalf("search zzz: %+v", p)
	}
	if s := stats(t, e, tok, "/api/clients/statistics/?search=manyf"); s.Total != many {
		t.Fatalf("statistics search manyf: %+v", s)
	}
}

// TestStatisticsMatchWhatWasCreated: the counts by status equal what the
// test created, with and without filters, and equal the list's counts.
func TestStatisticsMatchWhatWasCreated(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Stats")
	other := e.Account("Other")
	emp := a.Employee("employee")
	tok := a.Owner.Token
	want := map[string]int{"active": 4, "inactive": 3, "onboarding": 2, "paused": 1, "cancelled": 5}
	mine := map[string]int{}
	n := 0
	for status, k := range want {
		for i := 0; i < k; i++ {
			b := body("status", status, "country", []string{"US", "DE"}[n%2])
			if n%3 == 0 {
				b["setter"] = emp.ID
				mine[status]++
			}
			create(t, e, tok, b)
			create(t, e, other.Owner.Token, body("status", status))
			n++
		}
	}
	s := stats(t, e, tok, "/api/clients/statistics/")
	if s != (statsJSON{Total: 15, Active: 4, Inactive: 3, Onboarding: 2, Paused: 1, Cancelled: 5}) {
		t.Fatalf("statistics = %+v", s)
	}
	es := stats(t, e, emp.Token, "/api/clients/statistics/")
	if es != (statsJSON{Total: 5, Active: mine["active"], Inactive: mine["inactive"], Onboarding: mine["onboarding"], Paused: mine["paused"], Cancelled: mine["cancelled"]}) {
		t.Fatalf("employee statistics = %+v, want %v", es, mine)
	}
	// Filters apply, and agree with the list.
	for _, q := range []string{"?status=cancelled", "?country=US", "?country=de", fmt.Sprintf("?setter=%d", emp.ID), "?status=active&country=DE", "?search=doe"} {
		s := stats(t, e, tok, "/api/clients/statistics/"+q)
		p := list(t, e, tok, "/api/clients/"+q)
		if s.Total != p.Count || s.Active+s.Inactive+s.Onboarding+s.Paused+s.Cancelled != s.Total {
			t.Fatalf("%s: statistics %+v, list count %d", q, s, p.Count)
		}
	}
	if s := stats(t, e, tok, "/api/clients/statistics/?status=cancelled"); s != (statsJSON{Total: 5, Cancelled: 5}) {
		t.Fatalf("cancelled = %+v", s)
	}
	if s := stats(t, e, tok, "/api/clients/statistics/?country=US"); s.Total != 8 {
		t.Fatalf("US = %+v", s)
	}
	apptest.FieldErrors(t, apptest.Expect(t, e.Get(tok, "/api/clients/statistics/?status=gone"), http.StatusBadRequest))
}

// TestFiltersOrderingPagination covers each filter, the ordering whitelist
// and the DRF page links.
func TestFiltersOrderingPagination(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Lists")
	tok := a.Owner.Token
	x := a.Employee("employee")
	y := a.Employee("employee")
	c1 := create(t, e, tok, body("last_name", "Charlie", "coach", x.ID, "country", "US", "status", "paused"))
	c2 := create(t, e, tok, body("last_name", "Alpha", "closer", x.ID, "country", "GB"))
	c3 := create(t, e, tok, body("last_name", "Bravo", "setter", y.ID, "coach", y.ID, "country", "US"))

	check := func(path string, want ...int64) {
		t.Helper()
		p := list(t, e, tok, path)
		if p.Count != len(want) || len(p.Results) != len(want) {
			t.Fatalf("%s: %+v", path, p)
		}
		for i, id := range want {
			if p.Results[i].ID != id {
				t.Fatalf("%s: result %d is %d, want %d", path, i, p.Results[i].ID, id)
			}
		}
	}
	check("/api/clients/", c3.ID, c2.ID, c1.ID) // -created_at
	check("/api/clients/?ordering=created_at", c1.ID, c2.ID, c3.ID)
	check("/api/clients/?ordering=last_name", c2.ID, c3.ID, c1.ID)
	check("/api/clients/?ordering=-last_name", c1.ID, c3.ID, c2.ID)
	check("/api/clients/?ordering=country,-id", c2.ID, c3.ID, c1.ID)
	check("/api/clients/?status=paused", c1.ID)
	check(fmt.Sprintf("/api/clients/?coach=%d", x.ID), c1.ID)
	check(fmt.Sprintf("/api/clients/?closer=%d", x.ID), c2.ID)
	check(fmt.Sprintf("/api/clients/?setter=%d", y.ID), c3.ID)
	check(fmt.Sprintf("/api/clients/?coach=%d&setter=%d", y.ID, y.ID), c3.ID)
	check("/api/clients/?coach=987654", []int64{}...)
	check("/api/clients/?country=US&ordering=id", c1.ID, c3.ID)
	check("/api/clients/?country=us&ordering=id", c1.ID, c3.ID)

	// Pages: DRF links, and a page past the end is 404.
	p1 := list(t, e, tok, "/api/clients/?page_size=2&ordering=id")
	if p1.Count != 3 || len(p1.Results) != 2 || p1.Previous != nil || p1.Next == nil {
		t.Fatalf("page 1 = %+v", p1)
	}
	u, _ := url.Parse(*p1.Next)
	p2 := list(t, e, tok, u.RequestURI())
	if len(p2.Results) != 1 || p2.Results[0].ID != c3.ID || p2.Next != nil || p2.Previous == nil {
		t.Fatalf("page 2 = %+v", p2)
	}
	apptest.FieldErrors(t, apptest.Expect(t, e.Get(tok, "/api/clients/?page=3&page_size=2"), http.StatusNotFound))

	// Bad parameters are 400s naming the parameter.
	for _, q := range []string{"?ordering=password", "?ordering=account_id", "?status=gone", "?country=XX", "?country=USA", "?coach=abc", "?page=0", "?page=9223372036854775807", "?page=100000001", "?page_size=abc"} {
		r := apptest.Expect(t, e.Get(tok, "/api/clients/"+q), http.StatusBadRequest)
		apptest.FieldErrors(t, r)
	}
}
