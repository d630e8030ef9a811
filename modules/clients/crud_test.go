package clients_test

import (
	"net/http"
	"reflect"
	"regexp"
	"testing"

	"crm/platform/apptest"
)

var rfc3339UTC = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)

// TestClientLifecycle creates, reads, patches, replaces and deletes a client
// as an admin, checking the wire shape at each step.
func TestClientLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Acme")
	coach := a.Employee("employee")
	closer := a.Employee("employee")
	admin := a.Employee("admin")

	// The seed's create body; read-only fields sent along are ignored.
	r := e.Post(admin.Token, "/api/clients/", map[string]any{
		"first_name": " John ", "last_name": "Doe", "email": "John.Doe@Example.com",
		"status": "onboarding", "coach": coach.ID, "closer": closer.ID, "country": "US", "currency": "USD",
		"id": 999999, "account": 424242, "created_at": "2000-01-01T00:00:00Z",
	})
	apptest.Expect(t, r, http.StatusCreated)
	raw := r.Map(t)
	for _, f := range []string{"id", "account", "first_name", "last_name", "email", "phone", "status", "coach", "closer", "setter", "country", "currency", "notes", "created_at", "updated_at"} {
		if _, ok := raw[f]; !ok {
			t.Fatalf("field %s missing in %s", f, r.Body)
		}
	}
	var c clientJSON
	r.JSON(t, &c)
	if c.ID == 999999 || c.Account != a.ID || c.FirstName != "John" || c.Email != "john.doe@example.com" || c.Status != "onboarding" ||
		c.Coach == nil || *c.Coach != coach.ID || c.Closer == nil || *c.Closer != closer.ID || c.Setter != nil ||
		*c.Country != "US" || *c.Currency != "USD" || c.Phone != "" || c.Notes != "" {
		t.Fatalf("created = %s", r.Body)
	}
	if !rfc3339UTC.MatchString(c.CreatedAt) || c.CreatedAt[:4] == "2000" || c.UpdatedAt != c.CreatedAt {
		t.Fatalf("timestamps = %q %q", c.CreatedAt, c.UpdatedAt)
	}

	// Read, with and without the trailing slash.
	var got clientJSON
	apptest.Expect(t, e.Get(admin.Token, clientPath(c.ID)), http.StatusOK).JSON(t, &got)
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("get = %+v, want %+v", got, c)
	}
	apptest.Expect(t, e.Get(admin.Token, "/api/clients/"+itoa(c.ID)), http.StatusOK)
	apptest.Expect(t, e.Get(admin.Token, "/api/clients"), http.StatusOK)

	// PATCH changes only what is sent; null clears a reference.
	var p clientJSON
	apptest.Expect(t, e.Patch(admin.Token, clientPath(c.ID), map[string]any{"phone": "+1 555 0100", "coach": nil, "setter": coach.ID, "account": 1}), http.StatusOK).JSON(t, &p)
	if p.Phone != "+1 555 0100" || p.Coach != nil || p.Setter == nil || *p.Setter != coach.ID || p.Closer == nil || p.FirstName != "John" ||
		p.Status != "onboarding" || p.Account != a.ID || p.CreatedAt != c.CreatedAt || p.UpdatedAt <= c.UpdatedAt {
		t.Fatalf("patched = %+v", p)
	}
	// An empty PATCH changes nothing, not even updated_at.
	var same clientJSON
	apptest.Expect(t, e.Patch(admin.Token, clientPath(c.ID), map[string]any{}), http.StatusOK).JSON(t, &same)
	if !reflect.DeepEqual(same, p) {
		t.Fatalf("empty patch = %+v, want %+v", same, p)
	}

	// PUT replaces: required fields must be there, absent optional ones take
	// their defaults.
	apptest.Expect(t, e.Put(admin.Token, clientPath(c.ID), map[string]any{"first_name": "Jane"}), http.StatusBadRequest)
	var put clientJSON
	apptest.Expect(t, e.Put(admin.Token, clientPath(c.ID), map[string]any{"first_name": "Jane", "last_name": "Roe", "email": "jane@example.com", "country": "GB"}), http.StatusOK).JSON(t, &put)
	if put.ID != c.ID || put.FirstName != "Jane" || put.Email != "jane@example.com" || put.Status != "active" || put.Coach != nil ||
		put.Closer != nil || put.Setter != nil || *put.Country != "GB" || put.Currency != nil || put.Phone != "" || put.CreatedAt != c.CreatedAt {
		t.Fatalf("put = %+v", put)
	}

	// DELETE, then it is gone for every method.
	apptest.Expect(t, e.Delete(admin.Token, clientPath(c.ID)), http.StatusNoContent)
	apptest.Expect(t, e.Get(admin.Token, clientPath(c.ID)), http.StatusNotFound)
	apptest.Expect(t, e.Patch(admin.Token, clientPath(c.ID), map[string]any{"phone": "1"}), http.StatusNotFound)
	apptest.Expect(t, e.Delete(admin.Token, clientPath(c.ID)), http.StatusNotFound)
	if n := e.Count(t, "clients"); n != 0 {
		t.Fatalf("%d clients left", n)
	}
}

// TestStaticPathsAreNotIDs: my_clients and statistics are routes of their
// own, with or without the trailing slash.
func TestStaticPathsAreNotIDs(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Acme")
	for _, p := range []string{"/api/clients/my_clients/", "/api/clients/my_clients", "/api/clients/statistics/", "/api/clients/statistics"} {
		r := apptest.Expect(t, e.Get(a.Owner.Token, p), http.StatusOK).Map(t)
		if _, ok := r["detail"]; ok {
			t.Fatalf("%s = %v", p, r)
		}
	}
	// An id that is not a positive integer in range does not match the
	// path: 404 with the contract's body, never a 400 or a 500.
	for _, p := range []string{"/api/clients/abc/", "/api/clients/99999999999999999999/", "/api/clients/0/", "/api/clients/-1/", "/api/clients/+1/", "/api/clients/1.5/"} {
		r := apptest.Expect(t, e.Get(a.Owner.Token, p), http.StatusNotFound)
		if errs := apptest.FieldErrors(t, r); errs != nil {
			t.Fatalf("%s: %s", p, r)
		}
	}
	// Without a token: 401.
	apptest.Expect(t, e.Get("", "/api/clients/"), http.StatusUnauthorized)
	apptest.Expect(t, e.Get("", "/api/clients/statistics/"), http.StatusUnauthorized)
}
