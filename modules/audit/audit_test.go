package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"crm/modules/audit"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/journal"
)

type event struct {
	ID         int64                     `json:"id"`
	Account    int64                     `json:"account"`
	Actor      *int64                    `json:"actor"`
	Action     string                    `json:"action"`
	ObjectType string                    `json:"object_type"`
	ObjectID   *int64                    `json:"object_id"`
	Changes    map[string]journal.Change `json:"changes"`
	RequestID  string                    `json:"request_id"`
	At         time.Time                 `json:"at"`
}

type page struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []event `json:"results"`
}

func list(t *testing.T, e *identitytest.Env, token, query string) page {
	t.Helper()
	var p page
	apptest.Expect(t, e.Get(token, "/api/audit-events/?"+query), http.StatusOK).JSON(t, &p)
	return p
}

// fixture: an account with a few recorded changes by two actors.
func fixture(t *testing.T) (*identitytest.Env, *identitytest.Tenant, identitytest.User) {
	e := identitytest.New(t, audit.Module)
	acme := e.Account("Acme")
	admin := acme.Employee("admin")
	for i := range 3 {
		emp := acme.Employee("employee")
		apptest.Expect(t, e.Patch(admin.Token, fmt.Sprintf("/api/employees/%d/", emp.ID), map[string]any{"name": fmt.Sprintf("Renamed %d", i)}), http.StatusOK)
	}
	return e, acme, admin
}

func TestFiltersOrderingAndPages(t *testing.T) {
	e, acme, admin := fixture(t)
	tok := acme.Owner.Token
	all := list(t, e, tok, "page_size=200")
	if all.Count < 10 || len(all.Results) != all.Count {
		t.Fatalf("all = %d events", all.Count)
	}
	// Newest first by default, ties by id.
	for i := 1; i < len(all.Results); i++ {
		a, b := all.Results[i-1], all.Results[i]
		if a.At.Before(b.At) || a.At.Equal(b.At) && a.ID < b.ID {
			t.Fatalf("not newest first: %+v then %+v", a, b)
		}
	}
	asc := list(t, e, tok, "page_size=200&ordering=at")
	if asc.Results[0].ID != all.Results[len(all.Results)-1].ID {
		t.Fatalf("ordering=at starts with %+v", asc.Results[0])
	}

	// actor, action, object_type, object_id
	byAdmin := list(t, e, tok, fmt.Sprintf("actor=%d&action=update", admin.ID))
	if byAdmin.Count != 3 {
		t.Fatalf("admin's updates = %+v", byAdmin)
	}
	for _, ev := range byAdmin.Results {
		if *ev.Actor != admin.ID || ev.Action != "update" || ev.ObjectType != "employee" {
			t.Fatalf("filtered %+v", ev)
		}
	}
	target := *byAdmin.Results[0].ObjectID
	obj := list(t, e, tok, fmt.Sprintf("object_type=employee&object_id=%d", target))
	for _, ev := range obj.Results {
		if *ev.ObjectID != target {
			t.Fatalf("object filter gave %+v", ev)
		}
	}
	if obj.Count < 3 { // create, login, update
		t.Fatalf("object %d has %d events", target, obj.Count)
	}
	if n := list(t, e, tok, "object_type=client").Count; n != 0 {
		t.Fatalf("object_type=client: %d", n)
	}

	// since / until, inclusive, in any offset
	mid := all.Results[len(all.Results)/2]
	since := list(t, e, tok, "page_size=200&since="+url.QueryEscape(mid.At.Format(time.RFC3339Nano)))
	until := list(t, e, tok, "page_size=200&until="+url.QueryEscape(mid.At.In(time.FixedZone("x", 2*3600)).Format(time.RFC3339Nano)))
	for _, ev := range since.Results {
		if ev.At.Before(mid.At) {
			t.Fatalf("since %v gave %v", mid.At, ev.At)
		}
	}
	for _, ev := range until.Results {
		if ev.At.After(mid.At) {
			t.Fatalf("until %v gave %v", mid.At, ev.At)
		}
	}
	same := 0
	for _, ev := range all.Results {
		if ev.At.Equal(mid.At) {
			same++
		}
	}
	if since.Count+until.Count != all.Count+same {
		t.Fatalf("since %d + until %d != all %d + %d at the boundary", since.Count, until.Count, all.Count, same)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if n := list(t, e, tok, "since="+future).Count; n != 0 {
		t.Fatalf("events in the future: %d", n)
	}

	// Pages: DRF shape, a page past the end is 404.
	p1 := list(t, e, tok, "page_size=2")
	if len(p1.Results) != 2 || p1.Next == nil || p1.Previous != nil || !strings.Contains(*p1.Next, "page=2") {
		t.Fatalf("page 1 = %+v", p1)
	}
	p2 := list(t, e, tok, "page_size=2&page=2")
	if p2.Results[0].ID == p1.Results[0].ID || p2.Previous == nil {
		t.Fatalf("page 2 = %+v", p2)
	}
	apptest.Expect(t, e.Get(tok, "/api/audit-events/?page=999"), http.StatusNotFound)
}

func TestBadFiltersAre400(t *testing.T) {
	e := identitytest.New(t, audit.Module)
	acme := e.Account("Acme")
	for q, field := range map[string]string{
		"since=yesterday":            "since",
		"until=2025-13-01T00:00:00Z": "until",
		"since=2025-01-01":           "since",
		"actor=abc":                  "actor",
		"object_id=-1":               "object_id",
		"ordering=password":          "ordering",
		"since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z": "until",
		"action=" + strings.Repeat("x", 51):                     "action",
	} {
		r := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/audit-events/?"+q), http.StatusBadRequest)
		var body struct {
			Detail string              `json:"detail"`
			Errors map[string][]string `json:"errors"`
		}
		r.JSON(t, &body)
		if body.Detail == "" || len(body.Errors[field]) == 0 {
			t.Fatalf("%s: %s", q, r.Body)
		}
	}
	apptest.Expect(t, e.Get(acme.Owner.Token, "/api/audit-events/abc/"), http.StatusNotFound)
	apptest.Expect(t, e.Get(acme.Owner.Token, "/api/audit-events/999999/"), http.StatusNotFound)
}

// TestEventsCannotBeChanged: the API has no write for events (405), and the
// database refuses an UPDATE or a DELETE whoever sends it.
func TestEventsCannotBeChanged(t *testing.T) {
	e := identitytest.New(t, audit.Module)
	acme := e.Account("Acme")
	ev := list(t, e, acme.Owner.Token, "").Results[0]
	one := fmt.Sprintf("/api/audit-events/%d/", ev.ID)
	for _, r := range []apptest.Request{
		{Method: http.MethodPost, Path: "/api/audit-events/", Body: map[string]any{"action": "login"}},
		{Method: http.MethodPatch, Path: one, Body: map[string]any{"action": "nothing"}},
		{Method: http.MethodPut, Path: one, Body: map[string]any{"action": "nothing"}},
		{Method: http.MethodDelete, Path: one},
		{Method: http.MethodDelete, Path: strings.TrimSuffix(one, "/")},
		{Method: http.MethodDelete, Path: "/api/audit-events/"},
	} {
		r.Token = acme.Owner.Token
		resp := apptest.Expect(t, e.Do(r), http.StatusMethodNotAllowed)
		if resp.Map(t)["detail"] == nil || !strings.Contains(resp.Header.Get("Allow"), "GET") {
			t.Fatalf("%s %s: %s %v", r.Method, r.Path, resp.Body, resp.Header)
		}
	}
	if got := list(t, e, acme.Owner.Token, "").Results[0]; got.ID != ev.ID || got.Action != ev.Action {
		t.Fatalf("event changed: %+v", got)
	}
	ctx := context.Background()
	if _, err := e.DB.NewUpdate().Table("audit_events").Set("action = 'forged'").Where("id = ?", ev.ID).Exec(ctx); err == nil {
		t.Fatal("the database let an event be updated")
	}
	if _, err := e.DB.NewDelete().TableExpr("audit_events").Where("id = ?", ev.ID).Exec(ctx); err == nil {
		t.Fatal("the database let an event be deleted")
	}
}

// TestSinkStripsSecrets: whatever a module puts in an entry, no key that
// names a password, hash, secret or token is stored, at any depth.
func TestSinkStripsSecrets(t *testing.T) {
	e := identitytest.New(t, audit.Module)
	acme := e.Account("Acme")
	ctx := context.Background()
	type obj struct {
		Name         string `json:"name"`
		PasswordHash string `json:"password_hash"`
		APIToken     string `json:"api_token"`
		Nested       map[string]any
	}
	en := &journal.Entry{Action: "create", ObjectType: "widget", ObjectID: 7, AccountID: acme.ID, At: time.Now().UTC(),
		Object: obj{Name: "w", PasswordHash: "$argon2id$leak", APIToken: "tok-leak", Nested: map[string]any{"client_secret": "sec-leak", "ok": []any{map[string]any{"Password": "pw-leak", "kept": 1}}}}}
	tx, err := e.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.NewSink().Write(ctx, tx, en); err != nil {
		t.Fatal(err)
	}
	en2 := &journal.Entry{Action: "update", ObjectType: "widget", ObjectID: 7, AccountID: acme.ID, At: time.Now().UTC(),
		Changes: map[string]journal.Change{"password": {Old: "a-leak", New: "b-leak"}, "hash": {Old: "h-leak"}, "name": {Old: "w", New: "v"}, "big": {New: int64(9007199254740993)}}}
	if err := audit.NewSink().Write(ctx, tx, en2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var raw []string
	if err := e.DB.NewSelect().Table("audit_events").Column("changes").Where("object_type = 'widget'").Order("id").Scan(ctx, &raw); err != nil {
		t.Fatal(err)
	}
	for _, c := range raw {
		if strings.Contains(c, "leak") {
			t.Fatalf("secret stored: %s", c)
		}
	}
	var created map[string]journal.Change
	if err := json.Unmarshal([]byte(raw[0]), &created); err != nil || created["name"].New != "w" || !strings.Contains(raw[0], `"kept"`) {
		t.Fatalf("create changes = %s (%v)", raw[0], err)
	}
	if !strings.Contains(raw[1], `"name"`) || !strings.Contains(raw[1], "9007199254740993") {
		t.Fatalf("update changes = %s", raw[1])
	}
	for _, k := range []string{"password", "Password", "password_hash", "PasswordHash", "hash", "secret", "client_secret", "api_token", "token", "refresh_token", "stripe_api_key"} {
		if !audit.Sensitive(k) {
			t.Errorf("%s is not sensitive", k)
		}
	}
	for _, k := range []string{"name", "email", "stripe_customer_id", "amount", "role", "permissions"} {
		if audit.Sensitive(k) {
			t.Errorf("%s is sensitive", k)
		}
	}
}
