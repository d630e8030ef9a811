package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// The document `crm openapi` prints is the one of the real app with every
// module: self-contained (only local references, so it imports into Postman
// and Insomnia), and every operation says who may call it, what it returns,
// and which errors it gives in the contract's error body. (CI also runs
// redocly lint on it: .ci/run.)
func TestOpenAPIDocumentIsCompleteAndSelfContained(t *testing.T) {
	t.Setenv("CRM_LOG_LEVEL", "error")
	var out bytes.Buffer
	if err := run([]string{"openapi"}, nil, &out); err != nil {
		t.Fatalf("crm openapi: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("crm openapi printed no JSON: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	info := obj(doc["info"])
	if info["title"] == nil || info["description"] == nil || obj(info["license"])["name"] == nil {
		t.Errorf("info lacks a title, description or license: %v", info)
	}
	if servers, _ := doc["servers"].([]any); len(servers) == 0 {
		t.Error("no servers")
	}
	schemes := obj(obj(doc["components"])["securitySchemes"])
	if schemes["Bearer"] == nil || schemes["Token"] == nil {
		t.Errorf("security schemes = %v, want Bearer and Token", schemes)
	}
	errSchema := obj(obj(obj(doc["components"])["schemas"])["Error"])
	if _, ok := obj(errSchema["properties"])["detail"]; !ok || !slices.Contains(list(errSchema["required"]), "detail") {
		t.Errorf("the Error schema is not the contract's body: %v", errSchema)
	}

	// Every reference is local and resolves.
	walk(doc, func(path string, m map[string]any) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		if !strings.HasPrefix(ref, "#/") {
			t.Errorf("%s: external reference %q", path, ref)
			return
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = obj(cur)[part]
		}
		if cur == nil {
			t.Errorf("%s: %q resolves to nothing", path, ref)
		}
	})

	// Every schema type is a JSON Schema type (huma writes ["", "null"] for
	// a nullable schema without a type; the platform removes those).
	valid := []string{"object", "array", "string", "number", "integer", "boolean", "null"}
	walk(doc, func(path string, m map[string]any) {
		if strings.Contains(path, "/properties/type") || strings.Contains(path, "/example") || strings.Contains(path, "securitySchemes") {
			return // a property named "type", example data, a security scheme
		}
		switch ty := m["type"].(type) {
		case string:
			if !slices.Contains(valid, ty) {
				t.Errorf("%s: type %q", path, ty)
			}
		case []any:
			for _, x := range ty {
				if !slices.Contains(valid, fmt.Sprint(x)) {
					t.Errorf("%s: type %v", path, ty)
				}
			}
		}
	})

	tags := map[string]bool{}
	docTags, _ := doc["tags"].([]any)
	for _, tg := range docTags {
		if obj(tg)["description"] == "" || obj(tg)["description"] == nil {
			t.Errorf("tag %v has no description", tg)
		}
		tags[fmt.Sprint(obj(tg)["name"])] = true
	}

	ops := 0
	for path, item := range obj(doc["paths"]) {
		for method, o := range obj(item) {
			op := obj(o)
			where := strings.ToUpper(method) + " " + path
			ops++
			for _, field := range []string{"operationId", "summary", "description"} {
				if s, _ := op[field].(string); s == "" {
					t.Errorf("%s has no %s", where, field)
				}
			}
			if len(list(op["tags"])) == 0 {
				t.Errorf("%s has no tag", where)
			}
			for _, tg := range list(op["tags"]) {
				if !tags[tg] {
					t.Errorf("%s: tag %q is not described at the top", where, tg)
				}
			}
			if sec, _ := op["security"].([]any); len(sec) == 0 {
				t.Errorf("%s does not declare its security", where)
			}
			responses := obj(op["responses"])
			if _, ok := responses["422"]; ok {
				t.Errorf("%s documents 422: the API answers 400", where)
			}
			ok2xx, ok4xx := false, false
			for code, r := range responses {
				ok2xx = ok2xx || strings.HasPrefix(code, "2")
				if code < "400" {
					continue
				}
				ok4xx = ok4xx || strings.HasPrefix(code, "4")
				media := obj(obj(obj(r)["content"])["application/json"])
				if obj(media["schema"])["$ref"] != "#/components/schemas/Error" {
					t.Errorf("%s %s: error response is not the Error body: %v", where, code, media["schema"])
				}
				if obj(media["example"])["detail"] == nil {
					t.Errorf("%s %s: error response has no example", where, code)
				}
			}
			if !ok2xx || !ok4xx {
				t.Errorf("%s: responses %v, want a 2xx and a 4xx", where, keys(responses))
			}
			params := map[string]bool{}
			ps, _ := op["parameters"].([]any)
			for _, p := range ps {
				params[fmt.Sprint(obj(p)["name"])] = true
			}
			if params["page"] && (!params["page_size"] || !params["ordering"]) {
				t.Errorf("%s: a list without page_size or ordering: %v", where, keys(params))
			}
		}
	}
	if ops < 10 {
		t.Errorf("only %d operations", ops)
	}

	// The YAML form is the same document.
	var yout bytes.Buffer
	if err := run([]string{"openapi", "--yaml"}, nil, &yout); err != nil {
		t.Fatalf("crm openapi --yaml: %v", err)
	}
	var ydoc map[string]any
	if err := yaml.Unmarshal(yout.Bytes(), &ydoc); err != nil {
		t.Fatalf("crm openapi --yaml printed no YAML: %v", err)
	}
	if len(obj(ydoc["paths"])) != len(obj(doc["paths"])) {
		t.Errorf("YAML has %d paths, JSON %d", len(obj(ydoc["paths"])), len(obj(doc["paths"])))
	}
	if err := run([]string{"openapi", "extra"}, nil, &yout); err == nil {
		t.Error("crm openapi extra: no usage error")
	}
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func walk(v any, fn func(path string, m map[string]any)) {
	var rec func(string, any)
	rec = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			fn(path, v)
			for k, x := range v {
				rec(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				rec(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	rec("#", v)
}
