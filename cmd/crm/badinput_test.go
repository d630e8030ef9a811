package main

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"crm/platform/apptest"

	"github.com/danielgtaylor/huma/v2"
)

// operation is the OpenAPI operation of a route of the registry (nil for a
// route registered outside huma).
func operation(a *apptest.App, rt route) *huma.Operation {
	item := a.Server.API.OpenAPI().Paths[rt.path]
	if item == nil {
		return nil
	}
	return map[string]*huma.Operation{
		http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
		http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
	}[rt.method]
}

// bodyProperties are the properties of the operation's JSON body.
func bodyProperties(a *apptest.App, op *huma.Operation) map[string]*huma.Schema {
	if op == nil || op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
		return nil
	}
	s := op.RequestBody.Content["application/json"].Schema
	if s != nil && s.Ref != "" {
		s = a.Server.API.OpenAPI().Components.Schemas.Map()[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	if s == nil {
		return nil
	}
	return s.Properties
}

// TestNULNamesTheFieldOnEveryRoute: on every route that takes a body, a NUL
// character in any of its text fields, in an element of any of its lists of
// text, and in a field it does not know (nested), is a 400 that names that
// field, as the owner or without a token alike.
func TestNULNamesTheFieldOnEveryRoute(t *testing.T) {
	a, acc := fullApp(t)
	A := newFixture(t, a, acc, "Acme")
	sent := 0
	for _, rt := range registry(t, a) {
		if rt.method != http.MethodPost && rt.method != http.MethodPut && rt.method != http.MethodPatch {
			continue
		}
		path := rt.path
		if c, ok := idCases[rt.path]; ok {
			path = fill(rt.path, c.params(A))
		}
		want := map[string]string{ // field -> body
			"extra.list[1]": `{"extra":{"list":["ok","a\u0000b"]}}`,
		}
		props := bodyProperties(a, operation(a, rt))
		for name, s := range props {
			switch {
			case s.Type == huma.TypeString:
				want[name] = fmt.Sprintf(`{%q:"x\u0000"}`, name)
			case s.Type == huma.TypeArray && s.Items != nil && s.Items.Type == huma.TypeString:
				want[name+"[2]"] = fmt.Sprintf(`{%q:["a","b","\u0000"]}`, name)
			}
		}
		if len(props) > 0 && len(want) == 1 {
			t.Errorf("%s %s: a body of %v and no text field", rt.method, rt.path, slices.Sorted(maps.Keys(props)))
		}
		for field, body := range want {
			for _, token := range []string{A.token, ""} {
				r := a.Do(apptest.Request{Method: rt.method, Path: path, Token: token, Body: body})
				sent++
				checkHeaders(t, rt.method+" "+path, r)
				var out struct {
					Detail string              `json:"detail"`
					Errors map[string][]string `json:"errors"`
				}
				r.JSON(t, &out)
				if r.Status != http.StatusBadRequest || len(out.Errors) != 1 || len(out.Errors[field]) != 1 || !strings.Contains(out.Detail, field) {
					t.Errorf("%s %s %s: %s, want 400 naming %s", rt.method, path, body, r, field)
				}
			}
		}
	}
	t.Logf("%d requests", sent)
}
