package webhooks_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestEndpointRowMatrix: every webhook endpoint route on a row, for every
// role and permission set. Admins manage their account's endpoints (another
// account's, or a missing one, is 404); an employee reads no endpoint at
// all, so every such route is 403 whatever the id, and changes nothing.
func TestEndpointRowMatrix(t *testing.T) {
	e := newEnv(t, nil, fast)
	a, b := e.Account("Acme"), e.Account("Beta")
	callers := a.Callers()
	n := 0
	// endpoint registers one for every event as token, and makes it a
	// delivery (a client created); it returns both ids.
	endpoint := func(token string) (int64, int64) {
		t.Helper()
		var ep struct {
			ID int64 `json:"id"`
		}
		apptest.Expect(t, e.Post(token, "/api/webhook-endpoints/", map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []string{"*"}}),
			http.StatusCreated).JSON(t, &ep)
		n++
		apptest.Expect(t, e.Post(token, "/api/clients/", map[string]any{"first_name": "Event", "last_name": fmt.Sprint(n), "email": fmt.Sprintf("event%d@example.com", n)}),
			http.StatusCreated)
		var deliveries struct {
			Results []struct {
				ID int64 `json:"id"`
			} `json:"results"`
		}
		apptest.Expect(t, e.Get(token, fmt.Sprintf("/api/webhook-endpoints/%d/deliveries/", ep.ID)), http.StatusOK).JSON(t, &deliveries)
		if len(deliveries.Results) == 0 {
			t.Fatal("the endpoint has no delivery")
		}
		return ep.ID, deliveries.Results[0].ID
	}
	routes := []struct {
		method, path string
		body         any
		ok           int
	}{
		{"GET", "/api/webhook-endpoints/%d/", nil, 200},
		{"PATCH", "/api/webhook-endpoints/%d/", map[string]any{"description": "changed"}, 200},
		{"PUT", "/api/webhook-endpoints/%d/", map[string]any{"enabled": false}, 200},
		{"DELETE", "/api/webhook-endpoints/%d/", nil, 204},
		{"GET", "/api/webhook-endpoints/%d/deliveries/", nil, 200},
		{"POST", "/api/webhook-endpoints/%d/deliveries/%d/redeliver/", nil, 200},
	}
	for _, c := range callers {
		for _, r := range routes {
			for _, target := range []string{"own", "foreign", "missing"} {
				t.Run(r.method+r.path+"/"+target+"/"+c.Name(), func(t *testing.T) {
					tg, delivery := identitytest.Target{ID: identitytest.MissingID}, int64(identitytest.MissingID)
					switch target {
					case "own":
						tg = identitytest.Target{Readable: true, Owner: a.Owner.Token}
						tg.ID, delivery = endpoint(a.Owner.Token)
					case "foreign":
						tg = identitytest.Target{Owner: b.Owner.Token}
						tg.ID, delivery = endpoint(b.Owner.Token)
					}
					path := fmt.Sprintf(r.path, tg.ID)
					if strings.Count(r.path, "%d") == 2 {
						path = fmt.Sprintf(r.path, tg.ID, delivery)
					}
					want := identitytest.Answer(tg.Readable, true, r.ok)
					if !c.Admin() {
						want = http.StatusForbidden
					}
					// The endpoint and its delivery log, as its account's super_admin reads them.
					var show func() string
					if tg.Owner != "" {
						ep, log := tg.Show(t, e.Env, fmt.Sprintf("/api/webhook-endpoints/%d/", tg.ID)), tg.Show(t, e.Env, fmt.Sprintf("/api/webhook-endpoints/%d/deliveries/", tg.ID))
						show = func() string { return ep() + log() }
					}
					e.CheckRow(t, apptest.Request{Method: r.method, Path: path, Token: c.Token, Body: r.body}, want, show)
				})
			}
		}
	}
}
