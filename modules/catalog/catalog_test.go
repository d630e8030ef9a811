package catalog_test

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"crm/platform/apptest"
)

// TestOtherAccountIsInvisible: another account's packages and client
// packages are 404 on every route and absent from every list; as a
// reference they are the same 400 as an id that does not exist.
func TestOtherAccountIsInvisible(t *testing.T) {
	e := newEnv(t)
	acme := newWorld(t, e, "Acme")
	globex := newWorld(t, e, "Globex")
	tok := acme.tokens["super_admin"]
	for _, c := range []struct{ method, path string }{
		{"GET", path("/api/packages/%d/", globex.pkg)},
		{"PATCH", path("/api/packages/%d/", globex.pkg)},
		{"PUT", path("/api/packages/%d/", globex.pkg)},
		{"DELETE", path("/api/packages/%d/", globex.pkg)},
		{"GET", path("/api/client-packages/%d/", globex.cp[globex.mine])},
		{"PATCH", path("/api/client-packages/%d/", globex.cp[globex.mine])},
		{"PUT", path("/api/client-packages/%d/", globex.cp[globex.mine])},
		{"DELETE", path("/api/client-packages/%d/", globex.cp[globex.mine])},
	} {
		var body any
		if c.method == "PATCH" || c.method == "PUT" {
			body = map[string]any{"package_name": "Stolen", "status": "inactive"}
		}
		if r := e.Do(apptest.Request{Method: c.method, Path: c.path, Token: tok, Body: body}); r.Status != http.StatusNotFound {
			t.Errorf("%s %s as another account = %s, want 404", c.method, c.path, r)
		}
	}
	if got := e.IDs(t, tok, "/api/packages/"); !slices.Equal(got, []int64{acme.pkg}) {
		t.Errorf("packages = %v", got)
	}
	for _, q := range []string{"", path("?client=%d", globex.mine), path("?package=%d", globex.pkg)} {
		for _, got := range e.IDs(t, tok, "/api/client-packages/"+q) {
			if got != acme.cp[acme.mine] && got != acme.cp[acme.other] {
				t.Errorf("client-packages%s lists %d", q, got)
			}
		}
	}
	before := e.Count(t, "client_packages")
	for _, c := range []struct {
		field   string
		foreign int64
		body    func(int64) map[string]any
	}{
		{"client", globex.mine, func(ref int64) map[string]any { return cpBody(ref, acme.pkg) }},
		{"package", globex.pkg, func(ref int64) map[string]any { return cpBody(acme.mine, ref) }},
	} {
		norm := func(ref int64) string {
			r := e.Post(tok, "/api/client-packages/", c.body(ref))
			if fieldErrors(t, r)[c.field] == nil {
				t.Fatalf("%s %d: %s", c.field, ref, r)
			}
			return strings.ReplaceAll(string(r.Body), strconv.FormatInt(ref, 10), "ID")
		}
		if foreign, missing := norm(c.foreign), norm(999999); foreign != missing {
			t.Errorf("%s: another account's id answers %s, a missing one %s", c.field, foreign, missing)
		}
	}
	if e.Count(t, "client_packages") != before {
		t.Fatal("a refused client package was written")
	}
}

// TestPackageInUse: deleting a package that client packages use is 409 and
// deletes nothing; a client with client packages cannot be deleted either.
func TestPackageInUse(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	tok := w.tokens["admin"]
	r := e.Delete(tok, path("/api/packages/%d/", w.pkg))
	if r.Status != http.StatusConflict {
		t.Fatalf("delete a package in use = %s", r)
	}
	apptest.WantDetail(t, r)
	apptest.Expect(t, e.Get(tok, path("/api/packages/%d/", w.pkg)), http.StatusOK)
	r = e.Delete(tok, path("/api/clients/%d/", w.mine))
	if r.Status != http.StatusConflict {
		t.Fatalf("delete a client with a client package = %s", r)
	}
	apptest.WantDetail(t, r)
	apptest.Expect(t, e.Get(tok, path("/api/clients/%d/", w.mine)), http.StatusOK)
	if e.Count(t, "client_packages") != 2 {
		t.Fatal("client packages were deleted")
	}
	for _, c := range []int64{w.mine, w.other} {
		apptest.Expect(t, e.Delete(tok, path("/api/client-packages/%d/", w.cp[c])), http.StatusNoContent)
	}
	apptest.Expect(t, e.Delete(tok, path("/api/packages/%d/", w.pkg)), http.StatusNoContent)
	apptest.Expect(t, e.Delete(tok, path("/api/clients/%d/", w.mine)), http.StatusNoContent)
	apptest.Expect(t, e.Get(tok, path("/api/packages/%d/", w.pkg)), http.StatusNotFound)
}

// TestValidation: every failing field at once, nothing written; exact money,
// dates, choices, the end date after the start date, the client fixed.
func TestValidation(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	tok := w.tokens["admin"]
	beforePkg, beforeCP := e.Count(t, "packages"), e.Count(t, "client_packages")
	for _, c := range []struct {
		body   any
		fields []string
	}{
		{map[string]any{}, []string{"package_name"}},
		{map[string]any{"package_name": "  "}, []string{"package_name"}},
		{map[string]any{"package_name": strings.Repeat("x", 151)}, []string{"package_name"}},
		{map[string]any{"package_name": "a\x07b"}, []string{"package_name"}},
		{map[string]any{"package_name": "ok", "description": strings.Repeat("x", 10001)}, []string{"description"}},
		{map[string]any{"package_name": 5}, []string{"package_name"}},
		{map[string]any{"package_name": nil}, []string{"package_name"}},
	} {
		if errs := fieldErrors(t, e.Post(tok, "/api/packages/", c.body)); !hasAll(errs, c.fields) {
			t.Errorf("package %v: errors %v, want %v", c.body, errs, c.fields)
		}
	}
	for _, c := range []struct {
		body   map[string]any
		fields []string
	}{
		{map[string]any{}, []string{"client", "package", "custom_price", "payment_schedule", "start_date"}},
		{map[string]any{"client": w.mine, "package": w.pkg, "custom_price": "1.999", "monthly_payment_amount": "-1", "payment_schedule": "Weekly", "start_date": "2025-01-01", "status": "paused"},
			[]string{"custom_price", "monthly_payment_amount"}},
		{map[string]any{"client": w.mine, "package": w.pkg, "custom_price": "1", "payment_schedule": "Weekly", "start_date": "2025-01-01", "status": "paused", "end_date": "2024-12-31"},
			[]string{"payment_schedule", "status", "end_date"}},
		{map[string]any{"client": w.mine, "package": w.pkg, "custom_price": "1", "payment_schedule": "PIF", "start_date": "01/02/2025"}, []string{"start_date"}},
		{map[string]any{"client": w.mine, "package": w.pkg, "custom_price": "1", "payment_schedule": "PIF", "start_date": "0000-01-01", "end_date": "2025-02-30"}, []string{"start_date", "end_date"}},
		{map[string]any{"client": w.mine, "package": w.pkg, "custom_price": "1", "payment_schedule": "PIF", "start_date": "0999-12-31"}, []string{"start_date"}},
		{map[string]any{"client": "1", "package": w.pkg, "custom_price": "1", "payment_schedule": "PIF", "start_date": "2025-01-01"}, []string{"client"}},
		{map[string]any{"client": w.mine, "package": w.pkg, "custom_price": nil, "payment_schedule": "PIF", "start_date": "2025-01-01"}, []string{"custom_price"}},
	} {
		if errs := fieldErrors(t, e.Post(tok, "/api/client-packages/", c.body)); !hasAll(errs, c.fields) {
			t.Errorf("client package %v: errors %v, want %v", c.body, errs, c.fields)
		}
	}
	if e.Count(t, "packages") != beforePkg || e.Count(t, "client_packages") != beforeCP {
		t.Fatal("refused rows were written")
	}

	// Valid edge cases: the end date may equal the start date; PIF with no
	// monthly amount; the largest price.
	b := cpBody(w.mine, w.pkg)
	b["end_date"], b["payment_schedule"], b["custom_price"] = "2025-01-01", "PIF", 999999999999.99
	delete(b, "monthly_payment_amount")
	r := apptest.Expect(t, e.Post(tok, "/api/client-packages/", b), http.StatusCreated).Map(t)
	if r["custom_price"] != "999999999999.99" || r["monthly_payment_amount"] != nil || r["end_date"] != "2025-01-01" || r["status"] != "active" {
		t.Fatalf("client package = %v", r)
	}
	cp := path("/api/client-packages/%d/", int64(r["id"].(float64)))

	// The client of a client package is fixed: another one is 403 and
	// nothing changes; the same one back is fine.
	if r := e.Patch(tok, cp, map[string]any{"client": w.other, "status": "inactive"}); r.Status != http.StatusForbidden {
		t.Fatalf("change the client = %s", r)
	}
	got := apptest.Expect(t, e.Patch(tok, cp, map[string]any{"client": w.mine, "status": "inactive", "monthly_payment_amount": 0.5}), http.StatusOK).Map(t)
	if got["status"] != "inactive" || got["monthly_payment_amount"] != "0.50" {
		t.Fatalf("PATCH = %v", got)
	}
	// Clearing a nullable field, and an end date before the stored start.
	got = apptest.Expect(t, e.Patch(tok, cp, map[string]any{"monthly_payment_amount": nil, "end_date": nil}), http.StatusOK).Map(t)
	if got["monthly_payment_amount"] != nil || got["end_date"] != nil {
		t.Fatalf("cleared = %v", got)
	}
	if errs := fieldErrors(t, e.Patch(tok, cp, map[string]any{"end_date": "2024-01-01"})); errs["end_date"] == nil {
		t.Fatalf("end before start: %v", errs)
	}
	// PUT replaces: absent optional fields take their defaults again.
	got = apptest.Expect(t, e.Put(tok, cp, cpBody(w.mine, w.pkg)), http.StatusOK).Map(t)
	if got["status"] != "active" || got["end_date"] != nil || got["custom_price"] != "1000.00" {
		t.Fatalf("PUT = %v", got)
	}
	if errs := fieldErrors(t, e.Put(tok, cp, map[string]any{"status": "active"})); !hasAll(errs, []string{"client", "package", "custom_price"}) {
		t.Fatalf("PUT without required fields: %v", errs)
	}
}

func hasAll(errs map[string][]string, fields []string) bool {
	for _, f := range fields {
		if errs[f] == nil {
			return false
		}
	}
	return true
}

// TestLists: filters, ordering and search.
func TestLists(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	tok := w.tokens["admin"]
	alpha := pkg(t, e, tok, "Alpha 100%")
	b := cpBody(w.other, alpha)
	b["payment_schedule"], b["status"], b["custom_price"] = "Yearly", "inactive", "5.00"
	yearly := e.Create(t, tok, "/api/client-packages/", b)
	for _, c := range []struct {
		path string
		want []int64
	}{
		{path("/api/client-packages/?client=%d", w.other), []int64{yearly, w.cp[w.other]}}, // newest first
		{path("/api/client-packages/?package=%d", alpha), []int64{yearly}},
		{"/api/client-packages/?status=inactive", []int64{yearly}},
		{"/api/client-packages/?payment_schedule=Monthly", []int64{w.cp[w.other], w.cp[w.mine]}},
		{"/api/client-packages/?ordering=custom_price", []int64{yearly, w.cp[w.mine], w.cp[w.other]}},
		{"/api/client-packages/?ordering=-custom_price", []int64{w.cp[w.other], w.cp[w.mine], yearly}},
		{"/api/packages/", []int64{w.pkg, alpha}}, // by name: "Acme package" < "Alpha 100%"
		{"/api/packages/?ordering=-id", []int64{alpha, w.pkg}},
		{"/api/packages/?search=100%25", []int64{alpha}},
		{"/api/packages/?search=ALPHA", []int64{alpha}},
		{"/api/packages/?search=_", nil},
	} {
		got := e.IDs(t, tok, c.path)
		if len(got) != len(c.want) || (len(got) > 0 && !slices.Equal(got, c.want)) {
			t.Errorf("%s = %v, want %v", c.path, got, c.want)
		}
	}
	for _, p := range []string{"/api/packages/?ordering=account_id", "/api/client-packages/?ordering=custom_price_cents",
		"/api/client-packages/?status=paused", "/api/client-packages/?payment_schedule=Weekly", "/api/client-packages/?client=x"} {
		if r := e.Get(tok, p); r.Status != http.StatusBadRequest {
			t.Errorf("%s = %s, want 400", p, r)
		}
	}
}

// TestCreateIsIdempotent: POST with an Idempotency-Key answers a retry with
// the first response and writes once.
func TestCreateIsIdempotent(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e, "Acme")
	tok := w.tokens["admin"]
	for _, c := range []struct {
		path  string
		body  any
		table string
	}{{"/api/packages/", map[string]any{"package_name": "Once"}, "packages"}, {"/api/client-packages/", cpBody(w.mine, w.pkg), "client_packages"}} {
		before := e.Count(t, c.table)
		req := apptest.Request{Method: "POST", Path: c.path, Token: tok, Body: c.body, Headers: map[string]string{"Idempotency-Key": "once-" + c.table}}
		first := apptest.Expect(t, e.Do(req), http.StatusCreated)
		again := apptest.Expect(t, e.Do(req), http.StatusCreated)
		if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%s replay = %s, first %s", c.path, again.Body, first.Body)
		}
		if e.Count(t, c.table) != before+1 {
			t.Fatalf("%s wrote twice", c.path)
		}
	}
}
