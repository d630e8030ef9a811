package audit_test

import (
	"fmt"
	"net/http"
	"testing"

	"crm/modules/audit"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestEventRowMatrix: one audit event, for every role and permission set.
// Admins read their account's events (another account's, or a missing one,
// is 404); an employee reads no event at all, so the route is 403 whatever
// the id.
func TestEventRowMatrix(t *testing.T) {
	e := identitytest.New(t, audit.Module)
	a, b := e.Account("Acme"), e.Account("Beta")
	callers := a.Callers()
	first := func(tn *identitytest.Tenant) int64 {
		p := list(t, e, tn.Owner.Token, "page_size=1")
		if len(p.Results) == 0 {
			t.Fatalf("%s has no event", tn.Name)
		}
		return p.Results[0].ID
	}
	for _, c := range callers {
		for _, tg := range []struct {
			name string
			identitytest.Target
		}{
			{"own", identitytest.Target{ID: first(a), Readable: true}},
			{"foreign", identitytest.Target{ID: first(b)}},
			{"missing", identitytest.Target{ID: identitytest.MissingID}},
		} {
			t.Run(tg.name+"/"+c.Name(), func(t *testing.T) {
				want := identitytest.Answer(tg.Readable, true, http.StatusOK)
				if !c.Admin() {
					want = http.StatusForbidden
				}
				e.CheckRow(t, apptest.Request{Method: "GET", Path: fmt.Sprintf("/api/audit-events/%d/", tg.ID), Token: c.Token}, want, nil)
			})
		}
	}
}
