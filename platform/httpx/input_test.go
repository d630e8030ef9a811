package httpx_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
)

// TestNULInBodyNamesTheField: a string holding the NUL character (the JSON
// escape \u0000) is refused with a 400 that names its field as huma names
// the fields of its validation errors (a.b[2].c), every such field, and
// nothing is written; an escaped backslash followed by "u0000" is text.
func TestNULInBodyNamesTheField(t *testing.T) {
	e := identitytest.New(t, nil)
	acme := e.Account("Acme")
	tok := acme.Owner.Token
	emp := acme.Employee("employee")
	deep := `"\u0000"`
	for range 40 {
		deep = `{"a":` + deep + `}`
	}
	var many strings.Builder
	many.WriteString(`{"name":"Ada"`)
	for i := range 50 {
		fmt.Fprintf(&many, `,"f%02d":"\u0000"`, i)
	}
	many.WriteString("}")

	cases := []struct {
		name, method, path, body string
		fields                   []string
	}{
		{"create", "POST", "/api/employees/", `{"name":"Ada\u0000","email":"ada@example.com","password":"a-long-password"}`, []string{"name"}},
		{"two fields", "POST", "/api/employees/", `{"name":"\u0000","email":"ada@example.com","password":"a-long-password","job_role":"a\u0000b"}`, []string{"job_role", "name"}},
		{"array element", "POST", fmt.Sprintf("/api/employees/%d/update_permissions/", emp.ID), `{"permissions":["view_all_clients","manage_all_clients","x\u0000"]}`, []string{"permissions[2]"}},
		{"patch", "PATCH", fmt.Sprintf("/api/employees/%d/", emp.ID), `{"phone_number":"\u0000"}`, []string{"phone_number"}},
		{"nested", "POST", "/api/employees/", `{"name":"Ada","extra":{"tags":["a",{"deep":"\u0000"}]}}`, []string{"extra.tags[1].deep"}},
		{"after a huge number", "POST", "/api/employees/", `{"n":1e400,"name":"\u0000"}`, []string{"name"}},
		{"key", "POST", "/api/employees/", `{"na\u0000me":"Ada"}`, []string{"body"}},
		{"nested key", "POST", "/api/employees/", `{"extra":{"k\u0000":1}}`, []string{"extra"}},
		{"root array", "POST", "/api/employees/", `["ok","\u0000"]`, []string{"body[1]"}},
		{"root string", "POST", "/api/employees/", `"\u0000"`, []string{"body"}},
		{"login", "POST", "/api/auth/login/", `{"email":"a\u0000@example.com","password":"x"}`, []string{"email"}},
		{"deeper than 32", "POST", "/api/employees/", deep, []string{strings.Repeat("a.", 31) + "a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token := tok
			if c.path == "/api/auth/login/" {
				token = ""
			}
			r := apptest.Expect(t, e.Do(apptest.Request{Method: c.method, Path: c.path, Token: token, Body: c.body}), http.StatusBadRequest)
			var out struct {
				Detail string              `json:"detail"`
				Errors map[string][]string `json:"errors"`
			}
			r.JSON(t, &out)
			if got := slices.Sorted(maps.Keys(out.Errors)); !slices.Equal(got, c.fields) {
				t.Fatalf("errors name %q, want %q: %s", got, c.fields, r.Body)
			}
			for _, f := range c.fields {
				if msgs := out.Errors[f]; len(msgs) != 1 || !strings.Contains(msgs[0], "NUL") || !strings.Contains(out.Detail, f) {
					t.Fatalf("%s: %s", f, r.Body)
				}
			}
		})
	}

	// Fifty NUL fields: ten named (the answer is bounded by the count, not
	// by the body).
	r := apptest.Expect(t, e.Post(tok, "/api/employees/", many.String()), http.StatusBadRequest)
	var out struct {
		Errors map[string][]string `json:"errors"`
	}
	r.JSON(t, &out)
	if len(out.Errors) != 10 || out.Errors["f00"] == nil || out.Errors["f09"] == nil {
		t.Fatalf("%d fields: %s", len(out.Errors), r.Body)
	}

	// Nothing was written.
	var list struct {
		Count int `json:"count"`
	}
	apptest.Expect(t, e.Get(tok, "/api/employees/"), http.StatusOK).JSON(t, &list)
	if list.Count != 2 {
		t.Fatalf("%d employees, want the owner and the employee", list.Count)
	}
	perms := apptest.Expect(t, e.Get(tok, fmt.Sprintf("/api/employees/%d/", emp.ID)), http.StatusOK).Map(t)
	if p, _ := perms["permissions"].([]any); len(p) != 0 || perms["phone_number"] != "" && perms["phone_number"] != nil {
		t.Fatalf("the refused writes changed the employee: %v", perms)
	}

	// Not JSON before the escape: the decoder's 400, never a 500.
	r = apptest.Expect(t, e.Post(tok, "/api/employees/", `{"name": x "\u0000"}`), http.StatusBadRequest)
	if m := r.Map(t); m["detail"] == "" {
		t.Fatalf("no detail: %s", r.Body)
	}

	// An escaped backslash followed by u0000 is ordinary text.
	r = apptest.Expect(t, e.Post(tok, "/api/employees/", `{"name":"Ada \\u0000","email":"ada@example.com","password":"a-long-password"}`), http.StatusCreated)
	var created struct {
		Name string `json:"name"`
	}
	r.JSON(t, &created)
	if created.Name != `Ada \u0000` {
		t.Fatalf("name %q", created.Name)
	}
	raw, _ := json.Marshal(created.Name)
	if !strings.Contains(string(raw), `\\u0000`) {
		t.Fatalf("name %s", raw)
	}
}
