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

// isIDParam tells a row id in a path (the router's rule: id or *_id).
func isIDParam(name string) bool { return name == "id" || strings.HasSuffix(name, "_id") }

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

// badIDs are path ids that are not a positive int64 as the API writes one.
var badIDs = []string{"abc", "0", "-1", "1.5", "+1", "%201", "1%20", "01", "1e3", "0x10", "1_000",
	"9223372036854775808", "99999999999999999999", strings.Repeat("9", 1000)}

// TestBadIDIsNotFoundOnEveryRoute: on every route with an id in its path,
// an id that is not a positive integer in range of int64 does not match the
// path: 404 with the contract's body, for every method, with a token or
// without, like a path the API does not have. The largest id matches and is
// a row that does not exist (404 from the route). The document still says
// every id is an integer, and an integer path parameter is always an id.
func TestBadIDIsNotFoundOnEveryRoute(t *testing.T) {
	a, acc := fullApp(t)
	A := newFixture(t, a, acc, "Acme")
	served := map[string][]string{} // path -> methods
	for _, rt := range registry(t, a) {
		if strings.Contains(rt.path, "{") {
			served[rt.path] = append(served[rt.path], rt.method)
		}
	}
	notFound := func(what string, r *apptest.Response) {
		t.Helper()
		checkHeaders(t, what, r)
		if r.Status != http.StatusNotFound || strings.TrimSpace(string(r.Body)) != `{"detail":"Not found."}` {
			t.Errorf("%s = %s, want 404 {\"detail\":\"Not found.\"}", what, r)
		}
	}
	checked := 0
	for path, methods := range served {
		c, ok := idCases[path]
		if !ok {
			t.Errorf("%s: no idCase", path)
			continue
		}
		valid := c.params(A)
		names := paramRE.FindAllString(path, -1)
		for i, name := range names {
			if !isIDParam(strings.Trim(name, "{}")) {
				continue
			}
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				for _, bad := range badIDs {
					values := slices.Clone(valid)
					values[i] = bad
					p := fill(path, values)
					req := apptest.Request{Method: m, Path: p, Token: A.token}
					if m != http.MethodGet && m != http.MethodDelete && c.body != nil {
						if b := c.body(A); b != nil {
							req.Body = b
						}
					}
					notFound(m+" "+p, a.Do(req))
					req.Token = ""
					notFound(m+" "+p+" without a token", a.Do(req))
					checked += 2
				}
				if !slices.Contains(methods, m) {
					// A method the path does not serve is 405 on a good id.
					r := a.Do(apptest.Request{Method: m, Path: fill(path, valid), Token: A.token})
					if r.Status != http.StatusMethodNotAllowed {
						t.Errorf("%s %s = %s, want 405", m, fill(path, valid), r)
					}
					continue
				}
				if m == http.MethodDelete {
					continue // the largest id below would delete nothing, but keep the fixture whole
				}
				values := slices.Clone(valid)
				values[i] = "9223372036854775807"
				p := fill(path, values)
				req := apptest.Request{Method: m, Path: p, Token: A.token}
				if m != http.MethodGet && c.body != nil {
					if b := c.body(A); b != nil {
						req.Body = b
					}
				}
				notFound(m+" "+p, a.Do(req))
			}
		}
	}
	t.Logf("%d requests with a bad id", checked)

	// The document: every id parameter is an integer, and every integer
	// path parameter is named as an id (else the router would not
	// constrain it).
	for path, item := range a.Server.API.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			for _, p := range op.Parameters {
				if p.In != "path" {
					continue
				}
				integer := p.Schema != nil && p.Schema.Type == huma.TypeInteger
				if integer != isIDParam(p.Name) {
					t.Errorf("%s %s: path parameter %q of type %v: an id is an integer named id or *_id, and only it", op.Method, path, p.Name, p.Schema.Type)
				}
			}
		}
	}
}
