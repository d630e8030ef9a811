package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"crm/platform/apptest"
	"crm/platform/auth"

	"github.com/stripe/stripe-go/v82/webhook"
)

// The API fuzz targets of the business modules: fuzzed query strings
// (filters, search, ordering, pagination) and JSON bodies (every create and
// update) sent to the routes of the registry under some paths, through the
// full app with a row of every kind, as the owner or (top bit of the route
// byte) an employee. No input may yield a 5xx or a panic (the recover
// middleware turns one into a 500); every answer is JSON with the security
// headers, every error has a detail. Identity, accounts and the audit log
// are fuzzed by modules/identity's FuzzAPI.

// apiFuzz is the app, its fixture and the routes a target sends to.
type apiFuzz struct {
	a      *apptest.App
	f      *fixture
	routes []route
}

// newAPIFuzz starts the full app and lists the routes under the prefixes
// (deletes aside: they take no input but the id, which the cross-account
// test covers).
func newAPIFuzz(f *testing.F, prefixes ...string) *apiFuzz {
	a, acc := fullApp(f)
	z := &apiFuzz{a: a, f: newFixture(f, a, acc, "Fuzz")}
	for _, rt := range registry(f, a) {
		if rt.method == http.MethodDelete {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(rt.path, p) {
				z.routes = append(z.routes, rt)
				break
			}
		}
	}
	if len(z.routes) == 0 {
		f.Fatalf("no route under %v", prefixes)
	}
	return z
}

// seed adds an input for the route method+path (by name, so that seeds stay
// right when routes are added).
func (z *apiFuzz) seed(f *testing.F, employee bool, method, path, query, body string) {
	f.Helper()
	for i, rt := range z.routes {
		if rt.method == method && rt.path == path {
			b := uint8(i)
			if employee {
				b |= 0x80
			}
			f.Add(b, query, []byte(body))
			return
		}
	}
	f.Fatalf("seed: no route %s %s", method, path)
}

// path is the route's path with the fixture's ids.
func (z *apiFuzz) path(rt route) string {
	if c, ok := idCases[rt.path]; ok {
		return fill(rt.path, c.params(z.f))
	}
	return rt.path
}

// send sends one fuzzed request and checks the answer.
func (z *apiFuzz) send(t *testing.T, rt route, token, query string, body []byte, header map[string]string) {
	var rd io.Reader
	hasBody := rt.method != http.MethodGet
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(rt.method, "http://crm.test"+z.path(rt), rd)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = apptest.EscapeQuery(query)
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := z.a.Server.App.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s?%s: %v", rt.method, req.URL.Path, req.URL.RawQuery, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	r := &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
	if r.Status >= 500 {
		t.Fatalf("%s %s?%s %q: %d %s", rt.method, req.URL.Path, req.URL.RawQuery, body, r.Status, out)
	}
	checkHeaders(t, rt.method+" "+req.URL.Path+"?"+req.URL.RawQuery, r)
}

// run fuzzes the target's routes with the query and the body.
func (z *apiFuzz) run(f *testing.F) {
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		if len(body) > 64<<10 || len(query) > 4<<10 {
			return
		}
		rt := z.routes[int(route&0x7f)%len(z.routes)]
		token := z.f.token
		if route&0x80 != 0 {
			token = z.f.empToken
		}
		z.send(t, rt, token, query, body, nil)
	})
}

// hostile are inputs every target tries on each of its routes.
var hostile = []struct{ query, body string }{
	{"search=%00", `{"notes":"\u0000"}`},
	{"search=%ff%fe&status=%C0%80", "\xff\xfe{}"},
	{"ordering=id;DROP TABLE clients&page=0&page_size=-1", `[]`},
	{"ordering=-created_at,,id,id,-id&page=99999999999999999999", `null`},
	{"client=1 OR 1=1&status=paid' --&currency=US%27", `{"client":"1 OR 1=1","amount":"1e3","currency":"usd'"}`},
	{"coach=-1&closer=0x10&setter=9223372036854775808&country=%25", `{"client":9223372036854775808,"amount":-0.001}`},
	{"search=%25_%5C&page_size=100000", `{"a":{"b":{"c":{"d":[[[[[[[[[[]]]]]]]]]]}}}}`},
	{"status=active&status=paused&ordering=id&ordering=-id", `{"status":"paid","status":"failed"}`},
}

// FuzzClientsAPI: clients (list, my_clients, statistics, read, create,
// update).
func FuzzClientsAPI(f *testing.F) {
	z := newAPIFuzz(f, "/api/clients/")
	c := z.f
	z.seed(f, false, "GET", "/api/clients/", fmt.Sprintf("search=ada,smith&status=active&coach=%d&closer=%d&setter=%d&country=US&ordering=-last_name,first_name&page=1&page_size=10", c.employee, c.employee, c.employee), "")
	z.seed(f, true, "GET", "/api/clients/my_clients/", "ordering=email&search=client", "")
	z.seed(f, false, "GET", "/api/clients/statistics/", "status=paused&country=gb&search=x", "")
	z.seed(f, false, "GET", "/api/clients/{id}/", "", "")
	z.seed(f, false, "POST", "/api/clients/", "", fmt.Sprintf(`{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44","status":"onboarding","coach":%d,"country":"gb","currency":"gbp","notes":"n"}`, c.employee))
	z.seed(f, false, "PATCH", "/api/clients/{id}/", "", `{"status":"cancelled","coach":null,"country":"XX","currency":"XXX","email":"not-an-email"}`)
	z.seed(f, false, "PUT", "/api/clients/{id}/", "", `{"first_name":"","last_name":"`+strings.Repeat("l", 151)+`","email":"a@b.c"}`)
	z.seed(f, true, "PATCH", "/api/clients/{id}/", "", `{"coach":999999,"closer":"1","setter":true}`)
	for i, h := range hostile {
		f.Add(uint8(i), h.query, []byte(h.body))
	}
	z.run(f)
}

// FuzzCatalogAPI: packages and client packages.
func FuzzCatalogAPI(f *testing.F) {
	z := newAPIFuzz(f, "/api/packages/", "/api/client-packages/")
	c := z.f
	z.seed(f, false, "GET", "/api/packages/", "search=growth&ordering=-package_name&page=1&page_size=5", "")
	z.seed(f, false, "POST", "/api/packages/", "", `{"package_name":"Growth","description":"twelve weeks"}`)
	z.seed(f, false, "PUT", "/api/packages/{id}/", "", `{"package_name":"","description":null}`)
	z.seed(f, false, "GET", "/api/client-packages/", fmt.Sprintf("client=%d&package=%d&status=active&payment_schedule=Monthly&ordering=-start_date", c.client, c.pkg), "")
	z.seed(f, false, "POST", "/api/client-packages/", "", fmt.Sprintf(`{"client":%d,"package":%d,"custom_price":"999.99","monthly_payment_amount":83.33,"payment_schedule":"PIF","start_date":"2025-01-01","end_date":"2024-12-31"}`, c.client, c.pkg))
	z.seed(f, false, "PATCH", "/api/client-packages/{id}/", "", `{"custom_price":"1e3","start_date":"0999-01-01","status":"gone"}`)
	z.seed(f, true, "PUT", "/api/client-packages/{id}/", "", `{"custom_price":"1000000000000.00"}`)
	for i, h := range hostile {
		f.Add(uint8(i), h.query, []byte(h.body))
	}
	z.run(f)
}

// FuzzBillingAPI: payments (and their statistics), instalments and Stripe
// customers.
func FuzzBillingAPI(f *testing.F) {
	z := newAPIFuzz(f, "/api/payments/", "/api/installments/", "/api/stripe-customers/")
	c := z.f
	z.seed(f, false, "GET", "/api/payments/", fmt.Sprintf("client=%d&status=paid&currency=usd&ordering=-payment_date,amount&page=1&page_size=20", c.client), "")
	z.seed(f, false, "GET", "/api/payments/statistics/", "currency=EUR&status=refunded", "")
	z.seed(f, false, "POST", "/api/payments/", "", fmt.Sprintf(`{"client":%d,"amount":"12.34","currency":"EUR","status":"paid","payment_date":"2025-02-30","stripe_payment_intent_id":"pi_1"}`, c.client))
	z.seed(f, false, "PATCH", "/api/payments/{id}/", "", `{"status":"disputed","amount":"1.00"}`)
	z.seed(f, false, "GET", "/api/installments/", fmt.Sprintf("client=%d&client_package=%d&status=open&ordering=instalment_number", c.client, c.cp), "")
	z.seed(f, false, "POST", "/api/installments/", "", fmt.Sprintf(`{"client":%d,"client_package":%d,"amount":0.1,"currency":"JPY","schedule_date":"2025-01-01","instalment_number":-1}`, c.client, c.cp))
	z.seed(f, false, "PUT", "/api/installments/{id}/", "", `{"amount":"abc","status":"closed"}`)
	z.seed(f, false, "GET", "/api/stripe-customers/", fmt.Sprintf("client=%d&status=inactive&ordering=-id", c.client), "")
	z.seed(f, false, "POST", "/api/stripe-customers/", "", fmt.Sprintf(`{"client":%d,"stripe_customer_id":"cus_fuzz","email":"BILLING@EXAMPLE.COM","status":"active"}`, c.client))
	z.seed(f, true, "PATCH", "/api/stripe-customers/{id}/", "", `{"email":"x","stripe_customer_id":""}`)
	for i, h := range hostile {
		f.Add(uint8(i), h.query, []byte(h.body))
	}
	z.run(f)
}

// FuzzSettingsAPI: webhook endpoints (and their delivery log) and the
// account's Stripe settings (the webhook signing secret).
func FuzzSettingsAPI(f *testing.F) {
	z := newAPIFuzz(f, "/api/webhook-endpoints/", "/api/stripe-settings/")
	z.seed(f, false, "GET", "/api/webhook-endpoints/", "ordering=-created_at&page_size=3", "")
	z.seed(f, false, "POST", "/api/webhook-endpoints/", "", `{"url":"https://hooks.example.com/crm","event_types":["client.created","payment.recorded"],"description":"d"}`)
	z.seed(f, false, "POST", "/api/webhook-endpoints/", "", `{"url":"http://169.254.169.254/latest/meta-data","event_types":["*"]}`)
	z.seed(f, false, "PATCH", "/api/webhook-endpoints/{id}/", "", `{"url":"ftp://x","event_types":["nope"],"enabled":"yes"}`)
	z.seed(f, false, "GET", "/api/webhook-endpoints/{id}/deliveries/", "status=pending&event_type=client.created&ordering=-created_at", "")
	z.seed(f, false, "POST", "/api/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver/", "", "")
	z.seed(f, false, "PUT", "/api/stripe-settings/", "", `{"webhook_secret":"whsec_0123456789abcdef"}`)
	z.seed(f, false, "PATCH", "/api/stripe-settings/", "", `{"webhook_secret":"whsec_ has spaces","rotate_endpoint_path":"yes"}`)
	z.seed(f, true, "PUT", "/api/stripe-settings/", "", `{"webhook_secret":"whsec_0123456789abcdef"}`)
	for i, h := range hostile {
		f.Add(uint8(i), h.query, []byte(h.body))
	}
	z.run(f)
}

// FuzzStripeEvent: the public Stripe webhook. A fuzzed body is signed with
// the account's secret (unless the flag says to send the fuzzed signature
// header as is), so the event parser and the rules that apply it are
// reached: no 5xx, no panic.
func FuzzStripeEvent(f *testing.F) {
	z := newAPIFuzz(f, "/api/webhooks/stripe/")
	c := z.f
	rt := z.routes[0]
	for _, s := range []struct {
		raw  bool
		sig  string
		body string
	}{
		{false, "", `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":1234,"currency":"usd","customer":"cus_1","metadata":{"crm_client_id":"1"}}}}`},
		{false, "", fmt.Sprintf(`{"id":"evt_2","object":"event","type":"customer.created","data":{"object":{"id":"cus_x","object":"customer","email":"a@b.c","metadata":{"crm_client_id":"%d"}}}}`, c.client)},
		{false, "", `{"id":"evt_3","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_1","amount":-5,"currency":"ZZZ"}}}`},
		{false, "", `{"id":"evt_4","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","object":"invoice","amount_paid":99999999999999999999,"customer":{"id":"cus_1"}}}}`},
		{false, "", `{"id":"","type":"","data":null}`},
		{false, "", `not json`},
		{true, "t=1,v1=00", `{}`},
		{true, "", `{}`},
		{true, "t=99999999999999999999,v1=zz,v0=,,", `{"id":"evt_5"}`},
	} {
		f.Add(s.raw, s.sig, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, raw bool, sig string, body []byte) {
		if len(body) > 64<<10 || len(sig) > 4<<10 {
			return
		}
		if !raw {
			sig = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: c.stripeSecret, Timestamp: time.Now()}).Header
		}
		// A header value cannot hold line breaks or NUL on the wire.
		sig = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return -1
			}
			return r
		}, sig)
		z.send(t, rt, "", "", body, map[string]string{"Stripe-Signature": sig})
	})
}

// FuzzAuthorizationHeader: any Authorization header, through the real
// middleware: 200 exactly when the header carries the employee's valid
// token in the Bearer or Token scheme, else 401 with the security headers,
// never a 5xx.
func FuzzAuthorizationHeader(f *testing.F) {
	z := newAPIFuzz(f, "/api/auth/me/", "/api/clients/")
	tok := z.f.token
	parts := strings.Split(tok, ".")
	for _, s := range []string{
		"Bearer " + tok, "Token " + tok, "bearer " + tok, "TOKEN  " + tok + " ", "Bearer " + tok + "x",
		"Bearer " + parts[0] + "." + parts[1] + ".", "Bearer " + parts[0] + ".." + parts[2], "Basic " + tok,
		"Bearer", "Bearer ", "", "Token null", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOjF9.", "Bearer \x00",
		"Bearer " + strings.Repeat("a", 4000), tok, "Bearer " + tok + "," + tok,
	} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
	}
	f.Fuzz(func(t *testing.T, route uint8, header string) {
		if len(header) > 7<<10 {
			return
		}
		rt := route % 2
		path := "/api/auth/me/"
		if rt == 1 {
			path = "/api/clients/?page_size=1"
		}
		req, err := http.NewRequest(http.MethodGet, "http://crm.test"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header["Authorization"] = []string{header}
		resp, err := z.a.Server.App.Test(req, -1)
		if err != nil {
			// A control character in a header is refused by the HTTP
			// parser before the app (headers_test.go checks that answer).
			if strings.ContainsFunc(header, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
				return
			}
			t.Fatalf("%q: %v", header, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		r := &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
		checkHeaders(t, fmt.Sprintf("Authorization %q", header), r)
		got, ok := auth.TokenFromHeader(strings.TrimSpace(header))
		valid := ok && got == tok
		switch {
		case r.Status >= 500:
			t.Fatalf("Authorization %q: %s", header, r)
		case valid && r.Status != http.StatusOK:
			t.Fatalf("the valid token in %q refused: %s", header, r)
		case !valid && r.Status != http.StatusUnauthorized:
			t.Fatalf("Authorization %q: %s, want 401", header, r)
		}
		if !valid && resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("401 without WWW-Authenticate: %v", resp.Header)
		}
	})
}
