package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crm/modules/accounts"
	"crm/platform/apptest"
	"crm/platform/config"

	"github.com/stripe/stripe-go/v82/webhook"
	"go.uber.org/fx"
)

// The registry guard: every route of the full app whose path has a
// parameter is called by account A's super_admin with account B's ids and
// refused as if B's row did not exist, and B's data is the same afterwards.
// The table below says, for each such path, which of an account's rows fill
// its parameters and what a write sends; a route without an entry fails the
// test, so a route added later cannot skip the check.

const fixturePassword = "correct-horse-battery"

// fixture is one account with a row of every kind.
type fixture struct {
	name                    string
	account                 int64
	owner, employee         int64
	ownerEmail, empEmail    string
	token, empToken         string
	client, pkg, cp         int64
	payment, instalment, sc int64
	endpoint, delivery      int64
	auditEvent              int64
	stripePath              string // the account's inbound Stripe path token
	stripeSecret            string
}

var fixtureSeq atomic.Int64

// fullApp starts the app with every module of the binary (the list in
// main.go), webhook endpoints allowed on loopback, the worker not started.
func fullApp(t testing.TB) (*apptest.App, *accounts.Service) {
	t.Helper()
	var acc *accounts.Service
	a := apptest.New(t, fx.Options(Modules(), fx.Populate(&acc)), func(c *config.Config) {
		c.WebhooksAllowPrivate = true
		c.WebhooksOverdueScan = 0
	})
	return a, acc
}

func signIn(t testing.TB, a *apptest.App, email, password string) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	apptest.Expect(t, a.Post("", "/api/auth/login/", map[string]string{"email": email, "password": password}), http.StatusOK).JSON(t, &out)
	return out.Token
}

func created(t testing.TB, a *apptest.App, token, path string, body any) int64 {
	t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	apptest.Expect(t, a.Post(token, path, body), http.StatusCreated).JSON(t, &out)
	return out.ID
}

// firstID returns the id of the first result of a list.
func firstID(t testing.TB, a *apptest.App, token, path string) int64 {
	t.Helper()
	var page struct {
		Results []struct {
			ID int64 `json:"id"`
		} `json:"results"`
	}
	apptest.Expect(t, a.Get(token, path), http.StatusOK).JSON(t, &page)
	if len(page.Results) == 0 {
		t.Fatalf("%s: empty", path)
	}
	return page.Results[0].ID
}

// newFixture creates an account as the CLI does and a row of every kind
// through the API.
func newFixture(t testing.TB, a *apptest.App, acc *accounts.Service, name string) *fixture {
	t.Helper()
	n := fixtureSeq.Add(1)
	f := &fixture{name: name, ownerEmail: fmt.Sprintf("owner%d@%s.example.com", n, strings.ToLower(name))}
	account, owner, err := acc.CreateWithOwner(context.Background(), name, f.ownerEmail, fixturePassword)
	if err != nil {
		t.Fatal(err)
	}
	f.account, f.owner = account.ID, owner
	f.token = signIn(t, a, f.ownerEmail, fixturePassword)
	tok := f.token
	// The endpoint first: every later change becomes a delivery of it.
	f.endpoint = created(t, a, tok, "/api/webhook-endpoints/", map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []string{"*"}})
	f.empEmail = fmt.Sprintf("coach%d@%s.example.com", n, strings.ToLower(name))
	f.employee = created(t, a, tok, "/api/employees/", map[string]any{"name": "Coach " + name, "email": f.empEmail, "password": fixturePassword, "role": "employee"})
	f.empToken = signIn(t, a, f.empEmail, fixturePassword)
	f.client = created(t, a, tok, "/api/clients/", map[string]any{"first_name": "Client", "last_name": name, "email": fmt.Sprintf("client%d@example.com", n), "coach": f.employee, "country": "US", "currency": "USD"})
	f.pkg = created(t, a, tok, "/api/packages/", map[string]any{"package_name": name + " package"})
	f.cp = created(t, a, tok, "/api/client-packages/", map[string]any{"client": f.client, "package": f.pkg, "custom_price": "1000.00",
		"monthly_payment_amount": "100.00", "payment_schedule": "Monthly", "start_date": "2025-01-01"})
	f.payment = created(t, a, tok, "/api/payments/", map[string]any{"client": f.client, "amount": "100.00", "currency": "USD", "status": "paid", "payment_date": "2025-01-02"})
	f.instalment = created(t, a, tok, "/api/installments/", map[string]any{"client": f.client, "client_package": f.cp, "amount": "100.00",
		"currency": "USD", "schedule_date": "2025-02-01", "instalment_number": 1})
	f.sc = created(t, a, tok, "/api/stripe-customers/", map[string]any{"client": f.client, "stripe_customer_id": fmt.Sprintf("cus_%d", n), "email": "billing@example.com"})
	f.stripeSecret = fmt.Sprintf("whsec_%s_%032d", strings.ToLower(name), n)
	var st struct {
		EndpointPath string `json:"endpoint_path"`
	}
	apptest.Expect(t, a.Put(tok, "/api/stripe-settings/", map[string]any{"webhook_secret": f.stripeSecret}), http.StatusOK).JSON(t, &st)
	f.stripePath = st.EndpointPath[strings.LastIndex(strings.TrimSuffix(st.EndpointPath, "/"), "/")+1:]
	f.stripePath = strings.TrimSuffix(f.stripePath, "/")
	f.delivery = firstID(t, a, tok, fmt.Sprintf("/api/webhook-endpoints/%d/deliveries/", f.endpoint))
	f.auditEvent = firstID(t, a, tok, "/api/audit-events/")
	return f
}

// stripeEvent signs a harmless event (an unknown type, which the receiver
// acknowledges and ignores) with secret.
func stripeEvent(secret string) ([]byte, string) {
	body := []byte(fmt.Sprintf(`{"id":"evt_%d","object":"event","type":"crm.test","data":{"object":{}}}`, fixtureSeq.Add(1)))
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()})
	return body, sp.Header
}

// idCase is how to call one path with an account's rows.
type idCase struct {
	// params gives the values of the path's parameters, in order.
	params func(f *fixture) []string
	// body is what POST, PUT and PATCH send, naming the caller's own rows
	// (a, the caller's fixture) so that the request would succeed on the
	// caller's own ids (the control case proves it).
	body func(a *fixture) map[string]any
	// refused lists the methods refused otherwise than 404 on another
	// account's ids, with the status.
	refused map[string]int
	// why says why refused differs from 404.
	why string
	// stripe: the request is an inbound Stripe event signed with the
	// caller's own secret.
	stripe bool
}

func idStrings(v ...int64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatInt(x, 10)
	}
	return out
}

var idCases = map[string]idCase{
	"/api/accounts/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.account) },
		body:   func(a *fixture) map[string]any { return map[string]any{"name": a.name + " Renamed"} },
	},
	"/api/audit-events/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.auditEvent) },
	},
	"/api/employees/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.employee) },
		body:   func(a *fixture) map[string]any { return map[string]any{"name": "Renamed Coach", "job_role": "Coach"} },
	},
	"/api/employees/{id}/change_password/": {
		params: func(f *fixture) []string { return idStrings(f.employee) },
		body:   func(a *fixture) map[string]any { return map[string]any{"new_password": "another-long-password-1"} },
	},
	"/api/employees/{id}/update_permissions/": {
		params: func(f *fixture) []string { return idStrings(f.employee) },
		body:   func(a *fixture) map[string]any { return map[string]any{"permissions": []string{"view_all_clients"}} },
	},
	"/api/clients/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.client) },
		body: func(a *fixture) map[string]any {
			return map[string]any{"first_name": "Renamed", "last_name": "Client", "email": fmt.Sprintf("renamed%d@example.com", fixtureSeq.Add(1)),
				"status": "paused", "coach": a.employee, "country": "US", "currency": "USD"}
		},
	},
	"/api/packages/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.pkg) },
		body: func(a *fixture) map[string]any {
			return map[string]any{"package_name": fmt.Sprintf("Renamed %d", fixtureSeq.Add(1)), "description": "changed"}
		},
	},
	"/api/client-packages/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.cp) },
		body: func(a *fixture) map[string]any {
			return map[string]any{"client": a.client, "package": a.pkg, "custom_price": "2000.00", "monthly_payment_amount": "200.00",
				"payment_schedule": "Quarterly", "start_date": "2025-03-01", "status": "inactive"}
		},
	},
	"/api/payments/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.payment) },
		body:   func(a *fixture) map[string]any { return map[string]any{"status": "refunded"} },
	},
	"/api/installments/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.instalment) },
		body: func(a *fixture) map[string]any {
			return map[string]any{"client": a.client, "client_package": a.cp, "amount": "150.00", "currency": "EUR",
				"schedule_date": "2025-04-01", "status": "paid", "instalment_number": 2}
		},
	},
	"/api/stripe-customers/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.sc) },
		body: func(a *fixture) map[string]any {
			return map[string]any{"client": a.client, "stripe_customer_id": fmt.Sprintf("cus_renamed_%d", fixtureSeq.Add(1)), "email": "new@example.com", "status": "inactive"}
		},
	},
	"/api/webhook-endpoints/{id}/": {
		params: func(f *fixture) []string { return idStrings(f.endpoint) },
		body: func(a *fixture) map[string]any {
			return map[string]any{"url": "http://127.0.0.1:9/other", "event_types": []string{"client.created"}, "enabled": false, "description": "changed"}
		},
	},
	"/api/webhook-endpoints/{id}/deliveries/": {
		params: func(f *fixture) []string { return idStrings(f.endpoint) },
	},
	"/api/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver/": {
		params: func(f *fixture) []string { return idStrings(f.endpoint, f.delivery) },
		body:   func(a *fixture) map[string]any { return nil },
	},
	"/api/webhooks/stripe/{account}/": {
		params:  func(f *fixture) []string { return []string{f.stripePath} },
		stripe:  true,
		refused: map[string]int{http.MethodPost: http.StatusBadRequest},
		why: "the path token is the account's public endpoint address (Stripe posts to it without a login); " +
			"an event signed with another account's secret is refused as an invalid signature (400) and applies nothing",
	},
}

var paramRE = regexp.MustCompile(`\{[^}]+\}`)

// fill puts the values into the path's parameters, in order.
func fill(path string, values []string) string {
	i := 0
	return paramRE.ReplaceAllStringFunc(path, func(string) string {
		v := values[i]
		i++
		return v
	})
}

// route is one method and path the app serves.
type route struct{ method, path string }

// registry lists every route the app serves, from the platform's route
// list and from Fiber's router (which also holds routes registered outside
// huma), with Fiber's :param written as {param}.
func registry(t testing.TB, a *apptest.App) []route {
	t.Helper()
	seen := map[route]bool{}
	var out []route
	add := func(r route) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, r := range a.Server.Routes {
		add(route{r.Op.Method, r.Op.Path})
	}
	fiberParam := regexp.MustCompile(`:([A-Za-z0-9_]+)(<[^>]*>)?\??`) // an id's constraint dropped
	for _, r := range a.Server.App.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == http.MethodConnect || r.Method == http.MethodTrace || r.Method == http.MethodOptions {
			continue // HEAD runs the GET handler; the others no route serves
		}
		add(route{r.Method, fiberParam.ReplaceAllString(r.Path, "{$1}")})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].method < out[j].method
	})
	if len(out) < 40 {
		t.Fatalf("registry lists %d routes: the app is not the full one", len(out))
	}
	return out
}

// checkHeaders fails unless the answer carries the security headers, names
// no server, and is JSON (unless it has no body).
func checkHeaders(t testing.TB, what string, r *apptest.Response) {
	t.Helper()
	h := r.Header
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: %d without nosniff/no-store: %v", what, r.Status, h)
	}
	for _, name := range []string{"Server", "X-Powered-By"} {
		if v := h.Get(name); v != "" {
			t.Errorf("%s: %s %q reveals the server", what, name, v)
		}
	}
	if r.Status == http.StatusNoContent {
		return
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !json.Valid(r.Body) {
		t.Errorf("%s: %d not JSON (%q): %.200s", what, r.Status, h.Get("Content-Type"), r.Body)
	}
	if r.Status >= 400 {
		var m map[string]any
		_ = json.Unmarshal(r.Body, &m)
		if d, _ := m["detail"].(string); d == "" {
			t.Errorf("%s: %d without detail: %s", what, r.Status, r.Body)
		}
	}
}

// callAs sends one request of route rt with the values of fixture of, as
// caller.
func callAs(t testing.TB, a *apptest.App, rt route, c idCase, caller, of *fixture) *apptest.Response {
	t.Helper()
	req := apptest.Request{Method: rt.method, Path: fill(rt.path, c.params(of)), Token: caller.token}
	if c.stripe {
		body, sig := stripeEvent(caller.stripeSecret)
		req.Body, req.Headers = body, map[string]string{"Stripe-Signature": sig}
	} else if (rt.method == http.MethodPost || rt.method == http.MethodPut || rt.method == http.MethodPatch) && c.body != nil {
		if b := c.body(caller); b != nil {
			req.Body = b
		}
	}
	r := a.Do(req)
	checkHeaders(t, rt.method+" "+req.Path, r)
	return r
}

// snapshot is everything account f's own users can read of its rows.
func snapshot(t testing.TB, a *apptest.App, f *fixture) map[string]string {
	t.Helper()
	paths := []string{
		"/api/auth/me/",
		"/api/accounts/",
		fmt.Sprintf("/api/accounts/%d/", f.account),
		fmt.Sprintf("/api/employees/%d/", f.employee),
		"/api/employees/?page_size=200",
		fmt.Sprintf("/api/clients/%d/", f.client),
		"/api/clients/?page_size=200",
		fmt.Sprintf("/api/packages/%d/", f.pkg),
		"/api/packages/?page_size=200",
		fmt.Sprintf("/api/client-packages/%d/", f.cp),
		"/api/client-packages/?page_size=200",
		fmt.Sprintf("/api/payments/%d/", f.payment),
		"/api/payments/?page_size=200",
		"/api/payments/statistics/",
		fmt.Sprintf("/api/installments/%d/", f.instalment),
		"/api/installments/?page_size=200",
		fmt.Sprintf("/api/stripe-customers/%d/", f.sc),
		"/api/stripe-customers/?page_size=200",
		fmt.Sprintf("/api/webhook-endpoints/%d/", f.endpoint),
		"/api/webhook-endpoints/?page_size=200",
		fmt.Sprintf("/api/webhook-endpoints/%d/deliveries/?page_size=200", f.endpoint),
		"/api/stripe-settings/",
		fmt.Sprintf("/api/audit-events/%d/", f.auditEvent),
		"/api/audit-events/?page_size=200",
	}
	out := map[string]string{}
	for _, p := range paths {
		out[p] = string(apptest.Expect(t, a.Get(f.token, p), http.StatusOK).Body)
	}
	// The employee's session survives (a password change would revoke it).
	out["employee me"] = string(apptest.Expect(t, a.Get(f.empToken, "/api/auth/me/"), http.StatusOK).Body)
	return out
}

func sameSnapshot(t testing.TB, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed the other account's %s:\nbefore %s\nafter  %s", what, k, v, after[k])
		}
	}
}

// TestEveryIDRouteRefusesAnotherAccount is the registry guard (issue 6).
func TestEveryIDRouteRefusesAnotherAccount(t *testing.T) {
	a, acc := fullApp(t)
	everyIDRouteRefusesAnotherAccount(t, a, acc)
}

// everyIDRouteRefusesAnotherAccount is the test's body, on any app serving
// every module: in this process, or two `crm serve` behind HAProxy
// (instances_test.go).
func everyIDRouteRefusesAnotherAccount(t *testing.T, a *apptest.App, acc *accounts.Service) {
	A := newFixture(t, a, acc, "Acme")
	B := newFixture(t, a, acc, "Globex")

	routes := registry(t, a)
	var withID []route
	for _, rt := range routes {
		if strings.Contains(rt.path, "{") {
			withID = append(withID, rt)
		}
	}
	var missing []string
	for _, rt := range withID {
		if _, ok := idCases[rt.path]; !ok {
			missing = append(missing, rt.method+" "+rt.path)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("routes with an id parameter and no cross-account case (add one to idCases): %s", strings.Join(missing, ", "))
	}
	for p := range idCases {
		if !slices.ContainsFunc(withID, func(r route) bool { return r.path == p }) {
			t.Errorf("idCases has %s, which no route serves: remove it", p)
		}
	}

	// Deletes last, so that the control calls of the other routes find A's
	// rows; refused deletes of B's rows come first, with everything else.
	slices.SortStableFunc(withID, func(x, y route) int {
		return boolInt(x.method == http.MethodDelete) - boolInt(y.method == http.MethodDelete)
	})
	before := snapshot(t, a, B)
	t.Logf("%d routes with an id parameter, %d paths in idCases", len(withID), len(idCases))
	for _, rt := range withID {
		c := idCases[rt.path]
		want := http.StatusNotFound
		if s, ok := c.refused[rt.method]; ok {
			want = s
		}
		r := callAs(t, a, rt, c, A, B)
		if r.Status != want {
			t.Errorf("%s %s as another account = %s, want %d", rt.method, rt.path, r, want)
		}
		sameSnapshot(t, rt.method+" "+rt.path, before, snapshot(t, a, B))

		// Control: the same request on A's own ids is served, so the refusal
		// above is the account's and not a bad body.
		own := callAs(t, a, rt, c, A, A)
		switch {
		case rt.method == http.MethodDelete && (own.Status == http.StatusNoContent || own.Status == http.StatusConflict):
		case own.Status >= 200 && own.Status < 300:
		default:
			t.Errorf("control: %s %s on the caller's own ids = %s", rt.method, rt.path, own)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// listCases maps every list (a GET without parameters answering a page) to
// the ids of another account's rows it must never show, and filters that
// name them.
var listCases = map[string]struct {
	ids     func(f *fixture) []int64
	filters func(f *fixture) []string
}{
	"/api/accounts/": {func(f *fixture) []int64 { return []int64{f.account} }, nil},
	"/api/audit-events/": {func(f *fixture) []int64 { return []int64{f.auditEvent} }, func(f *fixture) []string {
		return []string{fmt.Sprintf("actor=%d", f.owner), fmt.Sprintf("object_id=%d", f.client)}
	}},
	"/api/employees/":          {func(f *fixture) []int64 { return []int64{f.owner, f.employee} }, func(f *fixture) []string { return []string{"search=" + f.empEmail} }},
	"/api/clients/":            {func(f *fixture) []int64 { return []int64{f.client} }, func(f *fixture) []string { return []string{fmt.Sprintf("coach=%d", f.employee), "search=" + f.name} }},
	"/api/clients/my_clients/": {func(f *fixture) []int64 { return []int64{f.client} }, func(f *fixture) []string { return []string{fmt.Sprintf("coach=%d", f.employee)} }},
	"/api/packages/":           {func(f *fixture) []int64 { return []int64{f.pkg} }, func(f *fixture) []string { return []string{"search=" + f.name} }},
	"/api/client-packages/": {func(f *fixture) []int64 { return []int64{f.cp} }, func(f *fixture) []string {
		return []string{fmt.Sprintf("client=%d", f.client), fmt.Sprintf("package=%d", f.pkg)}
	}},
	"/api/payments/": {func(f *fixture) []int64 { return []int64{f.payment} }, func(f *fixture) []string { return []string{fmt.Sprintf("client=%d", f.client)} }},
	"/api/installments/": {func(f *fixture) []int64 { return []int64{f.instalment} }, func(f *fixture) []string {
		return []string{fmt.Sprintf("client=%d", f.client), fmt.Sprintf("client_package=%d", f.cp)}
	}},
	"/api/stripe-customers/":  {func(f *fixture) []int64 { return []int64{f.sc} }, func(f *fixture) []string { return []string{fmt.Sprintf("client=%d", f.client)} }},
	"/api/webhook-endpoints/": {func(f *fixture) []int64 { return []int64{f.endpoint} }, nil},
}

// TestNoListShowsAnotherAccount: every list, as A, with and without filters
// naming B's rows, shows none of B's ids; a list added later without a case
// fails.
func TestNoListShowsAnotherAccount(t *testing.T) {
	a, acc := fullApp(t)
	noListShowsAnotherAccount(t, a, acc)
}

// noListShowsAnotherAccount is the test's body, on any app serving
// every module: in this process, or two `crm serve` behind HAProxy
// (instances_test.go).
func noListShowsAnotherAccount(t *testing.T, a *apptest.App, acc *accounts.Service) {
	A := newFixture(t, a, acc, "Acme")
	B := newFixture(t, a, acc, "Globex")
	for _, rt := range registry(t, a) {
		if rt.method != http.MethodGet || strings.Contains(rt.path, "{") {
			continue
		}
		if strings.HasPrefix(rt.path, "/api/docs") || strings.HasPrefix(rt.path, "/api/openapi") || rt.path == "/metrics" {
			continue // the API description and the metrics: documents of no account
		}
		r := a.Get(A.token, rt.path)
		checkHeaders(t, "GET "+rt.path, r)
		var page map[string]json.RawMessage
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &page) != nil || page["results"] == nil {
			continue // not a list (me, statistics, settings, health, docs)
		}
		c, ok := listCases[rt.path]
		if !ok {
			t.Errorf("list %s has no case in listCases", rt.path)
			continue
		}
		queries := []string{"page_size=200"}
		if c.filters != nil {
			for _, q := range c.filters(B) {
				queries = append(queries, q+"&page_size=200")
			}
		}
		for _, q := range queries {
			var got struct {
				Results []struct {
					ID int64 `json:"id"`
				} `json:"results"`
			}
			apptest.Expect(t, a.Get(A.token, rt.path+"?"+q), http.StatusOK).JSON(t, &got)
			for _, x := range got.Results {
				if slices.Contains(c.ids(B), x.ID) {
					t.Errorf("GET %s?%s as A shows B's id %d", rt.path, q, x.ID)
				}
			}
		}
		// Control: the list shows A's own rows (my_clients: those of A's
		// coach).
		tok := A.token
		if rt.path == "/api/clients/my_clients/" {
			tok = A.empToken
		}
		var own struct {
			Count int `json:"count"`
		}
		apptest.Expect(t, a.Get(tok, rt.path+"?page_size=200"), http.StatusOK).JSON(t, &own)
		if own.Count == 0 {
			t.Errorf("GET %s as A is empty: the case proves nothing", rt.path)
		}
	}
	// Statistics filtered by B's rows count nothing.
	for _, p := range []string{fmt.Sprintf("/api/payments/statistics/?client=%d", B.client), fmt.Sprintf("/api/clients/statistics/?coach=%d", B.employee)} {
		var st map[string]any
		apptest.Expect(t, a.Get(A.token, p), http.StatusOK).JSON(t, &st)
		zero := map[string]any{}
		for k, v := range st {
			if n, ok := v.(float64); ok && n != 0 {
				zero[k] = n
			}
		}
		if len(zero) > 0 {
			t.Errorf("%s as A counts B's rows: %v", p, zero)
		}
	}
}

// TestEveryRouteFamilyRefusesWithSecurityHeaders: for every route of the
// registry, the refusals a stranger meets (no token: 401; a method the path
// does not serve: 405 with Allow; an id that is not a number or too large
// does not match the path: 404; an id that does not exist: 404) are JSON
// with a detail, nosniff and no-store, and name no server.
func TestEveryRouteFamilyRefusesWithSecurityHeaders(t *testing.T) {
	a, acc := fullApp(t)
	everyRouteFamilyRefusesWithSecurityHeaders(t, a, acc)
}

// everyRouteFamilyRefusesWithSecurityHeaders is the test's body, on any app serving
// every module: in this process, or two `crm serve` behind HAProxy
// (instances_test.go).
func everyRouteFamilyRefusesWithSecurityHeaders(t *testing.T, a *apptest.App, acc *accounts.Service) {
	A := newFixture(t, a, acc, "Acme")
	public := map[route]bool{}
	for _, r := range a.Server.Routes {
		public[route{r.Op.Method, r.Op.Path}] = r.Public
	}
	methods := map[string][]string{}
	for _, rt := range registry(t, a) {
		if strings.HasPrefix(rt.path, "/api/docs") || strings.HasPrefix(rt.path, "/api/openapi") || rt.path == "/metrics" {
			continue // the API description and the metrics: documents of no account
		}
		methods[rt.path] = append(methods[rt.path], rt.method)
		c, hasID := idCases[rt.path]
		p := rt.path
		if hasID {
			p = fill(rt.path, c.params(A))
		}
		if !public[rt] {
			r := a.Do(apptest.Request{Method: rt.method, Path: p, Body: map[string]any{}})
			checkHeaders(t, "no token: "+rt.method+" "+rt.path, r)
			if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("no token: %s %s = %d %v, want 401 with WWW-Authenticate", rt.method, rt.path, r.Status, r.Header)
			}
		}
		if !hasID || c.stripe {
			continue
		}
		for _, bad := range []struct {
			id     string
			status int
		}{{"abc", http.StatusNotFound}, {"1.5", http.StatusNotFound}, {"99999999999999999999", http.StatusNotFound}, {"-1", http.StatusNotFound}, {"2147483647", http.StatusNotFound}} {
			vals := c.params(A)
			vals[0] = bad.id
			req := apptest.Request{Method: rt.method, Path: fill(rt.path, vals), Token: A.token}
			if c.body != nil && rt.method != http.MethodGet && rt.method != http.MethodDelete {
				req.Body = c.body(A)
			}
			r := a.Do(req)
			checkHeaders(t, rt.method+" "+req.Path, r)
			if r.Status != bad.status {
				t.Errorf("%s %s = %s, want %d", rt.method, req.Path, r, bad.status)
			}
		}
	}
	for p, served := range methods {
		path := p
		if c, ok := idCases[p]; ok {
			path = fill(p, c.params(A))
		}
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if slices.Contains(served, m) {
				continue
			}
			r := a.Do(apptest.Request{Method: m, Path: path, Token: A.token})
			checkHeaders(t, m+" "+path, r)
			if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") == "" {
				t.Errorf("%s %s = %d %v, want 405 with Allow", m, path, r.Status, r.Header)
			}
		}
	}
}
