package identity_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"crm/modules/audit"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// fuzzRoute is one endpoint FuzzAPI sends fuzzed query strings and bodies to.
type fuzzRoute struct {
	method, path string
	body         bool
}

// FuzzAPI sends fuzzed query strings and JSON bodies to the list, read,
// create and update routes of employees, accounts and the audit log (and to
// login), as the owner or as an employee, through the real app: no input
// may yield a 5xx or a panic, and every error is JSON with a detail.
func FuzzAPI(f *testing.F) {
	e := identitytest.New(f, audit.Module)
	acme := e.Account("Fuzz")
	emp := acme.Employee("employee")
	routes := []fuzzRoute{
		{http.MethodGet, "/api/employees/", false},
		{http.MethodPost, "/api/employees/", true},
		{http.MethodPatch, fmt.Sprintf("/api/employees/%d/", emp.ID), true},
		{http.MethodPut, fmt.Sprintf("/api/employees/%d/", emp.ID), true},
		{http.MethodGet, fmt.Sprintf("/api/employees/%d/", emp.ID), false},
		{http.MethodPost, fmt.Sprintf("/api/employees/%d/update_permissions/", emp.ID), true},
		{http.MethodPost, fmt.Sprintf("/api/employees/%d/change_password/", emp.ID), true},
		{http.MethodGet, "/api/accounts/", false},
		{http.MethodGet, fmt.Sprintf("/api/accounts/%d/", acme.ID), false},
		{http.MethodPatch, fmt.Sprintf("/api/accounts/%d/", acme.ID), true},
		{http.MethodPut, fmt.Sprintf("/api/accounts/%d/", acme.ID), true},
		{http.MethodGet, "/api/audit-events/", false},
		{http.MethodPost, "/api/auth/login/", true},
	}
	seeds := []struct {
		route uint8
		query string
		body  string
	}{
		{0, "search=jane&role=admin&status=active&ordering=-name&page=1&page_size=10", ""},
		{0, "search=%00", ""},
		{0, "search=%ff%fe", ""},
		{0, "ordering=name;DROP TABLE employees", ""},
		{0, "page=0&page_size=-1", ""},
		{0, "page=99999999999999999999", ""},
		{0, "search=%25_%5C&status=gone", ""},
		{1, "", `{"name":"Fuzz","email":"fuzz@example.com","password":"a-long-password","role":"employee"}`},
		{1, "", `{"name":"\u0000","email":"nul@example.com","password":"a-long-password"}`},
		{1, "", `{"name":123,"email":["x"],"password":null,"permissions":"all"}`},
		{1, "", `{"name":"x","email":"x@example.com","password":"12345678901","is_active":"yes"}`},
		{2, "", `{"name":"Renamed","phone_number":"+1555","job_role":"Coach"}`},
		{2, "", `{"role":"super_admin","permissions":["view_all_clients","nope"]}`},
		{2, "", `{"email":"OWNER1@FUZZ.EXAMPLE.COM"}`},
		{2 | 0x80, "", `{"name":"Self","role":"admin"}`},
		{3, "", `{}`},
		{3, "", `[]`},
		{3, "", `null`},
		{5, "", `{"permissions":["view_all_clients","manage_all_clients"]}`},
		{5, "", `{"permissions":null}`},
		{6, "", `{"new_password":"another-long-password"}`},
		{6 | 0x80, "", `{"old_password":"x","new_password":"1"}`},
		{7, "ordering=-id", ""},
		{9, "", `{"name":"` + strings.Repeat("n", 151) + `"}`},
		{10, "", `{"name":"Fuzz Ltd","id":999}`},
		{11, "actor=1&object_type=employee&since=2025-01-01T00:00:00Z&until=2099-01-01T00:00:00%2B02:00", ""},
		{11, "since=2025-13-45&actor=x&object_id=99999999999999999999", ""},
		{12, "", `{"email":"owner1@fuzz.example.com","password":"wrong-password"}`},
		{12, "", `{"email":{"$ne":null},"password":{"$gt":""}}`},
		{12, "", `{"email":"' OR 1=1 --","password":"x"}`},
	}
	for _, s := range seeds {
		f.Add(s.route, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		if len(body) > 64<<10 || len(query) > 4<<10 {
			return
		}
		r := routes[int(route&0x7f)%len(routes)]
		token := acme.Owner.Token
		if route&0x80 != 0 {
			token = emp.Token
		}
		var rd io.Reader
		if r.body {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(r.method, "http://crm.test"+r.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = apptest.EscapeQuery(query)
		if r.body {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := e.Server.App.Test(req, -1)
		if err != nil {
			t.Fatalf("%s %s?%s: %v", r.method, r.path, req.URL.RawQuery, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s?%s %q: %d %s", r.method, r.path, req.URL.RawQuery, body, resp.StatusCode, out)
		}
		if resp.StatusCode == http.StatusNoContent {
			return
		}
		var m any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", r.method, r.path, resp.StatusCode, out)
		}
		if resp.StatusCode >= 400 {
			if d, _ := m.(map[string]any)["detail"].(string); d == "" {
				t.Fatalf("%s %s: %d without detail: %s", r.method, r.path, resp.StatusCode, out)
			}
		}
	})
}
