package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"crm/modules/accounts"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/db"
)

// Two real `crm serve` processes on one database (a fresh PostgreSQL
// database when CRM_TEST_POSTGRES_URL is set, else one SQLite file in WAL
// mode that both open) and one shared CRM_POLICY_DIR behave as one API:
// what is written or changed through one is seen through the other. The
// scenarios call each instance by its own address, alternating, so that
// each side is proven; the black-box suite goes through HAProxy (round
// robin) in front of both.

// cluster is two `crm serve` processes on the database of an in-process
// app, which the test uses as the database's owner and for its services
// (accounts are created as the CLI creates them) but which serves nothing.
type cluster struct {
	app       *apptest.App
	acc       *accounts.Service
	policyDir string
	procs     []*serverProcess
	client    *http.Client
}

// startCluster starts the processes; env adds to their environment.
func startCluster(t *testing.T, env ...string) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	app, acc := fullApp(t) // a fresh database, migrated
	c := &cluster{app: app, acc: acc, policyDir: apptest.CopyPolicies(t),
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	full := crmEnv(app.Config.DatabaseURL, append([]string{
		"CRM_POLICY_DIR=" + c.policyDir,
		"CRM_ARGON2_MEMORY_KIB=1024", "CRM_ARGON2_TIME=1",
		"CRM_WEBHOOKS_ALLOW_PRIVATE=true",
		"CRM_DB_TIMEOUT=30s",
	}, env...)...)
	if db.SQLitePath(app.Config.DatabaseURL) != "" {
		// As a SQLite deployment runs by default: no CRM_JWT_SECRET, so both
		// sign with the one secret kept beside the shared data file.
		full = append(full, "CRM_JWT_SECRET=")
	}
	for range 2 {
		c.procs = append(c.procs, startServe(t, full))
	}
	return c
}

// at is instance i (0 or 1) for test t.
func (c *cluster) at(t *testing.T, i int) *identitytest.Env {
	return &identitytest.Env{App: c.app.At(t, c.procs[i].base, c.client), Accounts: c.acc}
}

// TestTwoInstances runs the cross-instance scenarios on two processes that
// both run the webhook delivery worker.
func TestTwoInstances(t *testing.T) {
	c := startCluster(t, "CRM_WEBHOOKS_DELIVERY=true", "CRM_WEBHOOKS_POLL_INTERVAL=50ms", "CRM_WEBHOOKS_TIMEOUT=30s")

	t.Run("principal changes", func(t *testing.T) {
		identitytest.CheckPrincipalChanges(t, c.at(t, 0), c.at(t, 1))
	})
	t.Run("policy from the shared folder", func(t *testing.T) { policyReachesBoth(t, c) })
	t.Run("failed-login limits", func(t *testing.T) { loginLimitsAcrossInstances(t, c) })
	t.Run("idempotency keys", func(t *testing.T) { idempotencyAcrossInstances(t, c) })
	t.Run("webhooks delivered once", func(t *testing.T) { webhooksDeliveredOnce(t, c) })
}

// clientCount is how many clients token's lists show on e.
func clientCount(t *testing.T, e *identitytest.Env, token string) int {
	t.Helper()
	var page struct {
		Count int `json:"count"`
	}
	apptest.Expect(t, e.Get(token, "/api/clients/"), http.StatusOK).JSON(t, &page)
	return page.Count
}

func newClient(t *testing.T, e *identitytest.Env, token string, coach int64) int64 {
	t.Helper()
	body := map[string]any{"first_name": "Client", "last_name": strconv.FormatInt(fixtureSeq.Add(1), 10),
		"email": fmt.Sprintf("client%d@instances.example.com", fixtureSeq.Add(1)), "country": "US", "currency": "USD"}
	if coach != 0 {
		body["coach"] = coach
	}
	return created(t, e.App, token, "/api/clients/", body)
}

// policyReachesBoth: a line added to the shared policy folder (the README's
// example: the employees of one account read every client) is enforced by
// both instances, and taken away from both when the file is restored.
func policyReachesBoth(t *testing.T, c *cluster) {
	both := []*identitytest.Env{c.at(t, 0), c.at(t, 1)}
	acct := both[0].Account("Policy")
	emp := acct.Employee("employee")
	newClient(t, both[1], acct.Owner.Token, emp.ID)
	newClient(t, both[0], acct.Owner.Token, 0)
	for i, e := range both {
		if n := clientCount(t, e, emp.Token); n != 1 {
			t.Fatalf("instance %d: the employee reads %d clients before the edit, want the 1 assigned", i, n)
		}
	}
	path := filepath.Join(c.policyDir, "clients.csv")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Saved the way an editor saves: a new file renamed over the old one.
	save := func(content []byte) {
		tmp := filepath.Join(c.policyDir, ".clients.csv.swp")
		if err := os.WriteFile(tmp, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	each := func(what string, want int) {
		t.Helper()
		for i, e := range both {
			deadline := time.Now().Add(10 * time.Second)
			for n := clientCount(t, e, emp.Token); n != want; n = clientCount(t, e, emp.Token) {
				if time.Now().After(deadline) {
					t.Fatalf("instance %d %s: the employee reads %d clients, want %d", i, what, n, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	save(append(append([]byte{}, orig...), fmt.Sprintf("\np, employee, %d, clients, read, all\n", acct.ID)...))
	each("after the edit", 2)
	// Another account is not affected by a line for this one.
	other := both[1].Account("Unpoliced")
	oemp := other.Employee("employee")
	newClient(t, both[0], other.Owner.Token, 0)
	for i, e := range both {
		if n := clientCount(t, e, oemp.Token); n != 0 {
			t.Errorf("instance %d: another account's employee reads %d clients", i, n)
		}
	}
	save(orig)
	each("after the restore", 1)
}

// loginLimitsAcrossInstances: failed logins alternating between the
// instances count as one: the 11th failure for an email is 429 (the right
// password included, with Retry-After), and concurrent failures split over
// both are counted exactly.
func loginLimitsAcrossInstances(t *testing.T, c *cluster) {
	both := []*identitytest.Env{c.at(t, 0), c.at(t, 1)}
	acct := both[0].Account("Limits")
	login := func(e *identitytest.Env, email, password string) *apptest.Response {
		return e.Post("", "/api/auth/login/", map[string]string{"email": email, "password": password})
	}
	emp := acct.Employee("employee")
	for i := range 10 {
		apptest.Expect(t, login(both[i%2], emp.Email, "wrong-password"), http.StatusUnauthorized)
	}
	for i, e := range both {
		for _, pw := range []string{"wrong-password", identitytest.Password} {
			r := login(e, emp.Email, pw)
			if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.Map(t)["detail"] == nil {
				t.Errorf("instance %d, failure 11+ (password %q): %s (Retry-After %q), want 429", i, pw, r, r.Header.Get("Retry-After"))
			}
		}
	}

	other := acct.Employee("employee")
	const attempts = 24
	statuses := make([]int, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() { statuses[i] = login(both[i%2], other.Email, "wrong-password").Status })
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != 10 || count[http.StatusTooManyRequests] != attempts-10 {
		t.Fatalf("concurrent failures over both instances: statuses %v, want 10 x 401 and %d x 429", count, attempts-10)
	}
}

// idempotencyAcrossInstances: a payment retried with its Idempotency-Key on
// the other instance answers the first answer and writes nothing; ten
// concurrent retries over both instances write one payment.
func idempotencyAcrossInstances(t *testing.T, c *cluster) {
	both := []*identitytest.Env{c.at(t, 0), c.at(t, 1)}
	acct := both[0].Account("Idem")
	tok := acct.Owner.Token
	client := newClient(t, both[0], tok, 0)
	pay := func(e *identitytest.Env, key string, amount string) *apptest.Response {
		return e.Do(apptest.Request{Method: http.MethodPost, Path: "/api/payments/", Token: tok,
			Body: map[string]any{"client": client, "amount": amount, "currency": "USD"}, Headers: map[string]string{"Idempotency-Key": key}})
	}
	payments := func() int {
		var page struct {
			Count int `json:"count"`
		}
		apptest.Expect(t, both[1].Get(tok, "/api/payments/"), http.StatusOK).JSON(t, &page)
		return page.Count
	}

	first := apptest.Expect(t, pay(both[0], "retry-1", "10.00"), http.StatusCreated)
	again := apptest.Expect(t, pay(both[1], "retry-1", "10.00"), http.StatusCreated)
	if !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay on the other instance = %s (%v), first %s", again.Body, again.Header, first.Body)
	}
	apptest.Expect(t, pay(both[1], "retry-1", "10.01"), http.StatusConflict)
	if n := payments(); n != 1 {
		t.Fatalf("%d payments after a replay on the other instance, want 1", n)
	}

	const n = 10
	answers := make([]*apptest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i] = pay(both[i%2], "concurrent", "250.00") })
	}
	wg.Wait()
	for i, r := range answers {
		if r.Status != http.StatusCreated || !bytes.Equal(r.Body, answers[0].Body) {
			t.Fatalf("concurrent answer %d (instance %d) = %s, answer 0 = %s", i, i%2, r, answers[0])
		}
	}
	if got := payments(); got != 2 {
		t.Fatalf("%d payments after ten concurrent requests with one key, want 2 in all", got)
	}
}

// webhooksDeliveredOnce: both instances run the delivery worker; every
// event reaches the receiver exactly once. The receiver holds each delivery
// until the database shows claims of two workers at the same time (a
// worker holds one claim at a time, and more events are due than one batch
// takes), so both workers are proven to deliver concurrently.
func webhooksDeliveredOnce(t *testing.T, c *cluster) {
	both := []*identitytest.Env{c.at(t, 0), c.at(t, 1)}
	acct := both[0].Account("Hooks")
	tok := acct.Owner.Token

	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	var mu sync.Mutex
	got := map[string]int{} // event id -> deliveries
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got[r.Header.Get("Crm-Event-Id")]++
		mu.Unlock()
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	t.Cleanup(open) // runs before rcv.Close: no handler stays blocked

	endpoint := created(t, both[1].App, tok, "/api/webhook-endpoints/", map[string]any{"url": rcv.URL + "/hook", "event_types": []string{"client.created"}})

	// Two claims held at once, or the receiver gives up waiting.
	claims := make(chan int, 1)
	go func() {
		most := 0
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var n int
			err := c.app.DB.NewRaw("SELECT COUNT(DISTINCT claim) FROM webhook_deliveries WHERE endpoint_id = ? AND claim IS NOT NULL", endpoint).
				Scan(context.Background(), &n)
			if err == nil && n > most {
				most = n
			}
			if most >= 2 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		open()
		claims <- most
	}()

	const events = 40 // more than two batches of 16: neither worker can claim them all at once
	for i := range events {
		newClient(t, both[i%2], tok, 0)
	}
	if most := <-claims; most < 2 {
		t.Fatalf("the two workers never held claims at the same time (at most %d): one instance does not deliver", most)
	}

	type delivery struct {
		EventID  string `json:"event_id"`
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
	}
	var list struct {
		Count   int        `json:"count"`
		Results []delivery `json:"results"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		apptest.Expect(t, both[0].Get(tok, fmt.Sprintf("/api/webhook-endpoints/%d/deliveries/?page_size=100", endpoint)), http.StatusOK).JSON(t, &list)
		done := list.Count == events
		for _, d := range list.Results {
			done = done && d.Status == "succeeded"
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not all succeeded after 30s: %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range list.Results {
		if d.Attempts != 1 || got[d.EventID] != 1 {
			t.Errorf("event %s: %d attempts, received %d times; want once", d.EventID, d.Attempts, got[d.EventID])
		}
	}
	if len(got) != events {
		t.Errorf("the receiver got %d distinct events, want %d", len(got), events)
	}
}

// TestSuiteThroughLoadBalancer runs the black-box tests that call every
// route of the registry (cross-account ids, lists, refusals and their
// headers) through HAProxy, round robin over two processes, and checks that
// the requests did alternate.
func TestSuiteThroughLoadBalancer(t *testing.T) {
	c := startCluster(t)
	served := &servedBy{next: c.client.Transport, n: map[string]int{}}
	lb := &http.Client{Timeout: c.client.Timeout, Transport: served}
	base := startHAProxy(t, c.procs[0].addr, c.procs[1].addr)
	for _, body := range []struct {
		name string
		run  func(*testing.T, *apptest.App, *accounts.Service)
	}{
		{"every id route refuses another account", everyIDRouteRefusesAnotherAccount},
		{"no list shows another account", noListShowsAnotherAccount},
		{"every route family refuses with security headers", everyRouteFamilyRefusesWithSecurityHeaders},
	} {
		t.Run(body.name, func(t *testing.T) { body.run(t, c.app.At(t, base, lb), c.acc) })
	}
	one, two, other := served.counts()
	t.Logf("through HAProxy: %d requests served by one, %d by two", one, two)
	if total := one + two + other; total == 0 || other != 0 || one < total*2/5 || two < total*2/5 {
		t.Errorf("requests through HAProxy: %d to one, %d to two, %d without the instance header; want about half each", one, two, other)
	}
}

// servedBy counts the answers per instance, from the header HAProxy adds.
type servedBy struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (s *servedBy) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil {
		s.mu.Lock()
		s.n[resp.Header.Get("X-Served-By")]++
		s.mu.Unlock()
	}
	return resp, err
}

func (s *servedBy) counts() (one, two, other int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.n {
		switch k {
		case "s1":
			one += v
		case "s2":
			two += v
		default:
			other += v
		}
	}
	return one, two, other
}

// startHAProxy puts HAProxy in front of the two addresses (round robin, the
// server's name, s1 or s2, in X-Served-By) and returns its base URL once it
// forwards.
func startHAProxy(t *testing.T, one, two string) string {
	t.Helper()
	base := apptest.HAProxy(t, one, two)
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if a := call(client, http.MethodGet, base+"/readyz", "", nil, nil); a.status == http.StatusOK {
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not forward to %s and %s after 30s", one, two)
		}
	}
}
