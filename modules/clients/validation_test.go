package clients_test

import (
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"crm/platform/apptest"
)

// TestValidationNamesEveryField: one bad body gets one 400 that names every
// failing field, and nothing is written.
func TestValidationNamesEveryField(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Valid")
	other := e.Account("Other")
	stranger := other.Employee("employee")
	tok := a.Owner.Token

	bad := map[string]any{
		"first_name": "   ",
		"last_name":  strings.Repeat("é", 151),
		"email":      "not-an-email",
		"phone":      strings.Repeat("1", 51),
		"status":     "archived",
		"coach":      987654321,
		"closer":     stranger.ID,
		"setter":     0,
		"country":    "XX",
		"currency":   "ABC",
		"notes":      strings.Repeat("n", 10001),
	}
	fields := apptest.FieldErrors(t, apptest.Expect(t, e.Post(tok, "/api/clients/", bad), http.StatusBadRequest))
	for f := range bad {
		if len(fields[f]) == 0 {
			t.Errorf("field %s not named in %v", f, fields)
		}
	}
	if len(fields) != len(bad) {
		t.Errorf("errors %v name other fields", fields)
	}
	if n := e.Count(t, "clients"); n != 0 {
		t.Fatalf("%d clients written", n)
	}

	// Limits are in characters: exactly at the limit is fine.
	ok := create(t, e, tok, body("first_name", strings.Repeat("é", 150), "phone", strings.Repeat("1", 50), "notes", strings.Repeat("n", 10000)+"\n"))

	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"required on create", map[string]any{}, []string{"first_name", "last_name", "email"}},
		{"null where not nullable", body("first_name", nil, "email", nil, "status", nil), []string{"first_name", "email", "status"}},
		{"email with a display name", body("email", "John <john@example.com>"), []string{"email"}},
		{"email without a dotted domain", body("email", "john@localhost"), []string{"email"}},
		{"email too long", body("email", strings.Repeat("a", 250)+"@x.com"), []string{"email"}},
		{"alpha-3 country", body("country", "USA"), []string{"country"}},
		{"withdrawn country", body("country", "SU"), []string{"country"}},
		{"reserved country", body("country", "UK"), []string{"country"}},
		{"private-use country", body("country", "ZZ"), []string{"country"}},
		{"unknown currency", body("currency", "BTC"), []string{"currency"}},
		{"no currency", body("currency", "XXX"), []string{"currency"}},
		{"control character", body("first_name", "a\tb", "last_name", "x\u0007"), []string{"first_name", "last_name"}},
		{"number for a string", body("first_name", 5), []string{"first_name"}},
		{"string for a number", body("coach", "2"), []string{"coach"}},
		{"fraction for an id", body("closer", 1.5), []string{"closer"}},
	}
	for _, tc := range cases {
		r := apptest.Expect(t, e.Post(tok, "/api/clients/", tc.body), http.StatusBadRequest)
		got := apptest.FieldErrors(t, r)
		for _, f := range tc.fields {
			if len(got[f]) == 0 {
				t.Errorf("%s: %s not named in %s", tc.name, f, r.Body)
			}
		}
	}
	// Valid codes pass, in any case (stored in upper case); null clears.
	if c := create(t, e, tok, body("country", " gb", "currency", "eur")); *c.Country != "GB" || *c.Currency != "EUR" {
		t.Fatalf("codes stored as %v %v", *c.Country, *c.Currency)
	}
	create(t, e, tok, body("country", "SS", "currency", "JPY", "phone", nil, "notes", nil, "coach", nil))
	if n := e.Count(t, "clients"); n != 3 {
		t.Fatalf("%d clients, want 3", n)
	}

	// Duplicate email (any case) is 409 on create and on update, and writes nothing.
	r := apptest.Expect(t, e.Post(tok, "/api/clients/", body("email", strings.ToUpper(ok.Email))), http.StatusConflict)
	if got := apptest.FieldErrors(t, r); len(got["email"]) == 0 {
		t.Fatalf("409 without the email field: %s", r.Body)
	}
	second := create(t, e, tok, body())
	apptest.Expect(t, e.Patch(tok, clientPath(second.ID), map[string]any{"email": " " + strings.ToUpper(ok.Email) + " "}), http.StatusConflict)
	apptest.Expect(t, e.Put(tok, clientPath(second.ID), body("email", ok.Email)), http.StatusConflict)

	// A failed update changes nothing.
	apptest.Expect(t, e.Patch(tok, clientPath(second.ID), map[string]any{"first_name": "Changed", "status": "gone"}), http.StatusBadRequest)
	apptest.Expect(t, e.Patch(tok, clientPath(second.ID), map[string]any{"first_name": nil}), http.StatusBadRequest)
	apptest.Expect(t, e.Put(tok, clientPath(second.ID), map[string]any{"first_name": "Changed"}), http.StatusBadRequest)
	var after clientJSON
	apptest.Expect(t, e.Get(tok, clientPath(second.ID)), http.StatusOK).JSON(t, &after)
	if !reflect.DeepEqual(after, second) {
		t.Fatalf("refused updates changed the client: %+v, was %+v", after, second)
	}
	// Sending one's own email back, in another case, is no change.
	apptest.Expect(t, e.Patch(tok, clientPath(second.ID), map[string]any{"email": strings.ToUpper(second.Email)}), http.StatusOK)

	// Bodies that are not an object or not JSON.
	for _, raw := range []string{"[]", "null", `"x"`, "{", `{"coach": 99999999999999999999}`} {
		r := e.Post(tok, "/api/clients/", raw)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %s", raw, r)
		}
		apptest.FieldErrors(t, r)
	}
	if n := e.Count(t, "clients"); n != 4 {
		t.Fatalf("%d clients, want 4", n)
	}
}

// TestConcurrentDuplicateEmails: racing creates of one email give one 201
// and 409s, never a 500, and one row.
func TestConcurrentDuplicateEmails(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Race")
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.Post(a.Owner.Token, "/api/clients/", body("email", "race@example.com")).Status
		}()
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if got[http.StatusCreated] != 1 || got[http.StatusConflict] != n-1 {
		t.Fatalf("statuses = %v", got)
	}
	if c := e.Count(t, "clients"); c != 1 {
		t.Fatalf("%d rows", c)
	}
}
