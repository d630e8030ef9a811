package httpx_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/httpx"
)

type rowInput struct {
	ID int64 `path:"id"`
}

// rowRoutes are test-only routes on a row ({id}) of the employees and the
// webhook endpoints; ran counts the handlers that ran.
func rowRoutes(ran *atomic.Int64) func(a *authz.Authorizer) []httpx.Route {
	return func(a *authz.Authorizer) []httpx.Route {
		handler := func(ask bool, action string) func(ctx context.Context, in *rowInput) (*struct{}, error) {
			return func(ctx context.Context, in *rowInput) (*struct{}, error) {
				ran.Add(1)
				if !ask {
					return &struct{}{}, nil
				}
				self := auth.FromContext(ctx).EmployeeID == in.ID
				return &struct{}{}, a.Allow(ctx, "employees", action, authz.Tie{Own: self})
			}
		}
		return []httpx.Route{
			httpx.Handle(httpx.Action(http.MethodPatch, "/api/test-rows/{id}/forgets/", "testRowForgets", "Changes a row without the scope rule (tests only)"),
				"employees", "update", handler(false, "update")),
			httpx.Handle(httpx.Action(http.MethodPost, "/api/test-rows/{id}/asks/", "testRowAsks", "Deletes a row by the scope rule (tests only)"),
				"employees", "delete", handler(true, "delete")),
			httpx.Handle(httpx.Action(http.MethodPost, "/api/test-rows/{id}/endpoint/", "testRowEndpoint", "Updates a webhook endpoint (tests only)"),
				"webhook_endpoints", "update", handler(false, "update")),
		}
	}
}

// TestRouteOnARow: a route that changes the row its path names is answered
// on that row. A caller who reads the object but holds no scope for the
// action reaches the handler, whose scope rule answers 403; one who cannot
// read the object at all is 403 before any handler runs; and a handler that
// answers without asking the scope rule is a server error, not a success.
func TestRouteOnARow(t *testing.T) {
	var ran atomic.Int64
	e := identitytest.New(t, httpx.AsRoutes(rowRoutes(&ran)))
	a := e.Account("Acme")
	emp := a.Employee("employee")
	admin := a.Employee("admin")
	path := func(id int64, what string) string { return fmt.Sprintf("/api/test-rows/%d/%s/", id, what) }

	for _, c := range []struct {
		name   string
		req    apptest.Request
		status int
		ran    int64
	}{
		{"employee, delete action, reads employees", apptest.Request{Method: "POST", Path: path(admin.ID, "asks"), Token: emp.Token}, http.StatusForbidden, 1},
		{"employee, delete action on self", apptest.Request{Method: "POST", Path: path(emp.ID, "asks"), Token: emp.Token}, http.StatusForbidden, 1},
		{"admin, delete action", apptest.Request{Method: "POST", Path: path(emp.ID, "asks"), Token: admin.Token}, http.StatusOK, 1},
		{"employee, reads no webhook endpoint", apptest.Request{Method: "POST", Path: path(1, "endpoint"), Token: emp.Token}, http.StatusForbidden, 0},
		{"handler forgets the rule", apptest.Request{Method: "PATCH", Path: path(emp.ID, "forgets"), Token: admin.Token}, http.StatusInternalServerError, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := ran.Load()
			r := apptest.Expect(t, e.Do(c.req), c.status)
			if got := ran.Load() - before; got != c.ran {
				t.Fatalf("handlers run: %d, want %d", got, c.ran)
			}
			if c.status < 400 {
				return
			}
			if d, _ := r.Map(t)["detail"].(string); d == "" {
				t.Fatalf("no detail in %s", r)
			}
			if c.status == http.StatusInternalServerError && r.Map(t)["detail"] != "Internal server error." {
				t.Fatalf("a forgotten rule leaks: %s", r)
			}
		})
	}
}
