package clients_test

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"crm/platform/apptest"
)

// TestOtherAccountIsInvisible: another account's client is 404 on every
// route, never shows in a list, a search, my_clients or a statistic, and
// another account's employee as a coach is the same 400 as an id that does
// not exist.
func TestOtherAccountIsInvisible(t *testing.T) {
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	beta := e.Account("Beta")
	acmeEmp := acme.Employee("employee")
	betaEmp := beta.Employee("employee", "view_all_clients", "manage_all_clients")
	betaAdmin := beta.Employee("admin")

	// Acme's client is named to match Beta's searches, assigned to Acme's employee.
	secret := create(t, e, acme.Owner.Token, body("first_name", "Zed", "last_name", "Secret", "email", "zed.secret@example.com",
		"coach", acmeEmp.ID, "status", "paused", "country", "FR"))
	mine := create(t, e, beta.Owner.Token, body("first_name", "Zed", "last_name", "Public", "coach", betaEmp.ID))

	for _, tok := range []string{beta.Owner.Token, betaAdmin.Token, betaEmp.Token} {
		apptest.Expect(t, e.Get(tok, clientPath(secret.ID)), http.StatusNotFound)
		apptest.Expect(t, e.Patch(tok, clientPath(secret.ID), map[string]any{"notes": "x"}), http.StatusNotFound)
		apptest.Expect(t, e.Put(tok, clientPath(secret.ID), body()), http.StatusNotFound)
		apptest.Expect(t, e.Delete(tok, clientPath(secret.ID)), http.StatusNotFound)
		for _, path := range []string{
			"/api/clients/", "/api/clients/?search=zed", "/api/clients/?search=secret", "/api/clients/?status=paused",
			"/api/clients/?country=FR", fmt.Sprintf("/api/clients/?coach=%d", acmeEmp.ID), "/api/clients/my_clients/",
			"/api/clients/?ordering=-id&page_size=200",
		} {
			if p := list(t, e, tok, path); ids(p)[secret.ID] {
				t.Fatalf("%s shows another account's client", path)
			}
		}
		for _, path := range []string{"/api/clients/statistics/", "/api/clients/statistics/?search=secret", "/api/clients/statistics/?status=paused"} {
			if s := stats(t, e, tok, path); s.Paused != 0 || (path != "/api/clients/statistics/" && s.Total != 0) {
				t.Fatalf("%s counts another account's client: %+v", path, s)
			}
		}
	}
	if p := list(t, e, beta.Owner.Token, "/api/clients/?search=zed"); p.Count != 1 || p.Results[0].ID != mine.ID {
		t.Fatalf("Beta's own search = %+v", p)
	}

	// Acme's client is untouched.
	var after clientJSON
	apptest.Expect(t, e.Get(acme.Owner.Token, clientPath(secret.ID)), http.StatusOK).JSON(t, &after)
	if !reflect.DeepEqual(after, secret) {
		t.Fatalf("Acme's client changed: %+v", after)
	}

	// References: another account's employee is the same 400 as a missing id.
	const missing = int64(987654321)
	for _, field := range []string{"coach", "closer", "setter"} {
		for _, do := range []func(b map[string]any) *apptest.Response{
			func(b map[string]any) *apptest.Response { return e.Post(beta.Owner.Token, "/api/clients/", b) },
			func(b map[string]any) *apptest.Response { return e.Patch(beta.Owner.Token, clientPath(mine.ID), b) },
			func(b map[string]any) *apptest.Response { return e.Put(beta.Owner.Token, clientPath(mine.ID), b) },
		} {
			foreign := apptest.FieldErrors(t, apptest.Expect(t, do(body(field, acmeEmp.ID)), http.StatusBadRequest))
			absent := apptest.FieldErrors(t, apptest.Expect(t, do(body(field, missing)), http.StatusBadRequest))
			want := fmt.Sprintf(`Invalid pk "%d" - object does not exist.`, acmeEmp.ID)
			if len(foreign) != 1 || len(foreign[field]) != 1 || foreign[field][0] != want || len(absent[field]) != 1 ||
				absent[field][0] != fmt.Sprintf(`Invalid pk "%d" - object does not exist.`, missing) {
				t.Fatalf("%s: foreign %v, missing %v", field, foreign, absent)
			}
		}
	}
	if n := e.Count(t, "clients"); n != 2 {
		t.Fatalf("%d clients, want 2", n)
	}
	var still clientJSON
	apptest.Expect(t, e.Get(beta.Owner.Token, clientPath(mine.ID)), http.StatusOK).JSON(t, &still)
	if !reflect.DeepEqual(still, mine) {
		t.Fatalf("Beta's client changed by refused writes: %+v", still)
	}

	// The same email may be used by two accounts.
	create(t, e, beta.Owner.Token, body("email", "zed.secret@example.com"))
}
