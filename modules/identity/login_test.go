package identity_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/config"
)

func TestLoginMeLogout(t *testing.T) {
	e := identitytest.New(t, nil)
	acme := e.Account("Acme")

	// Case-insensitive email, the seed's shape.
	r := apptest.Expect(t, e.Post("", "/api/auth/login/", map[string]string{"email": strings.ToUpper(acme.Owner.Email), "password": identitytest.Password}), http.StatusOK)
	var login struct {
		Token string `json:"token"`
		User  struct {
			ID          int64  `json:"id"`
			Email       string `json:"email"`
			Role        string `json:"role"`
			AccountID   int64  `json:"account_id"`
			AccountName string `json:"account_name"`
		} `json:"user"`
	}
	r.JSON(t, &login)
	if login.Token == "" || login.User.ID != acme.Owner.ID || login.User.Role != "super_admin" || login.User.AccountID != acme.ID || login.User.AccountName != "Acme" {
		t.Fatalf("login = %s", r.Body)
	}

	// Both schemes work.
	for _, scheme := range []string{"Bearer", "Token"} {
		me := apptest.Expect(t, e.Do(apptest.Request{Method: "GET", Path: "/api/auth/me/", Headers: map[string]string{"Authorization": scheme + " " + login.Token}}), http.StatusOK).Map(t)
		if me["email"] != acme.Owner.Email || me["account"].(float64) != float64(acme.ID) || me["account_name"] != "Acme" || me["role"] != "super_admin" {
			t.Fatalf("me = %v", me)
		}
		if _, ok := me["permissions"].([]any); !ok {
			t.Fatalf("me has no permissions list: %v", me)
		}
	}
	// Without the trailing slash too.
	apptest.Expect(t, e.Get(login.Token, "/api/auth/me"), http.StatusOK)

	// Logout revokes this token only.
	apptest.Expect(t, e.Post(login.Token, "/api/auth/logout/", nil), http.StatusOK)
	apptest.Expect(t, e.Get(login.Token, "/api/auth/me/"), http.StatusUnauthorized)
	apptest.Expect(t, e.Get(acme.Owner.Token, "/api/auth/me/"), http.StatusOK)
}

func TestLoginFailuresAreIdentical(t *testing.T) {
	e := identitytest.New(t, nil)
	acme := e.Account("Acme")
	emp := acme.Employee("employee")
	apptest.Expect(t, e.Delete(acme.Owner.Token, "/api/employees/"+itoa(emp.ID)+"/"), http.StatusNoContent)

	cases := map[string]map[string]string{
		"wrong password": {"email": acme.Owner.Email, "password": "not-the-password"},
		"unknown email":  {"email": "nobody@nowhere.example.com", "password": identitytest.Password},
		"inactive":       {"email": emp.Email, "password": identitytest.Password},
	}
	var bodies []string
	for name, body := range cases {
		r := e.Post("", "/api/auth/login/", body)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("%s: %s", name, r)
		}
		bodies = append(bodies, string(r.Body))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("bodies differ: %q vs %q", b, bodies[0])
		}
	}
}

func TestFailedLoginLimitIsExactUnderConcurrency(t *testing.T) {
	e := identitytest.New(t, nil)
	acme := e.Account("Acme")
	const attempts = 25
	var wg sync.WaitGroup
	statuses := make([]int, attempts)
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.Post("", "/api/auth/login/", map[string]string{"email": acme.Owner.Email, "password": "wrong-password"}).Status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != 10 || count[http.StatusTooManyRequests] != attempts-10 {
		t.Fatalf("statuses = %v, want 10 x 401 and %d x 429", count, attempts-10)
	}
	// The right password is refused too while the window lasts.
	r := e.Post("", "/api/auth/login/", map[string]string{"email": acme.Owner.Email, "password": identitytest.Password})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right password during lockout: %s (Retry-After %q)", r, r.Header.Get("Retry-After"))
	}
	if m := r.Map(t); m["detail"] == nil {
		t.Fatalf("no detail: %s", r.Body)
	}
}

// A burst of logins queues for the password hasher (at most GOMAXPROCS
// argon2id hashes at once, each holding its memory cost): those still
// waiting at the request's time limit get a 503 with the JSON error, never a
// 500, and the others sign in.
func TestLoginBurstQueuesForTheHasher(t *testing.T) {
	const limit = 2 * time.Second
	e := identitytest.New(t, nil, func(c *config.Config) {
		c.Argon2MemoryKiB, c.Argon2Time = 19*1024, 2 // the production default
		c.DBTimeout = limit
		c.TrustProxy = true // each login from its own address (below)
	})
	// Enough emails, and an address per login, that the failed-login
	// throttle (10 attempts in flight per email, 100 per address) lets
	// every login of the burst through to the hasher's queue.
	owners := make([]string, 40)
	for i := range owners {
		owners[i] = e.Account(fmt.Sprintf("Burst %d", i)).Owner.Email
	}
	// Enough logins that the last would wait several times the limit for
	// a slot, whatever this machine's speed: one login alone takes d.
	start := time.Now()
	apptest.Expect(t, e.Post("", "/api/auth/login/", map[string]string{"email": owners[0], "password": identitytest.Password}), http.StatusOK)
	d := time.Since(start)
	burst := min(runtime.GOMAXPROCS(0)*(int(4*limit/d)+2), 10*len(owners))
	var wg sync.WaitGroup
	answers := make([]*apptest.Response, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.Do(apptest.Request{Method: http.MethodPost, Path: "/api/auth/login/",
				Body:    map[string]string{"email": owners[i%len(owners)], "password": identitytest.Password},
				Headers: map[string]string{"X-Forwarded-For": fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)}})
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, r := range answers {
		count[r.Status]++
		switch r.Status {
		case http.StatusOK:
			if r.Map(t)["token"] == nil {
				t.Fatalf("200 without a token: %s", r.Body)
			}
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			if m := r.Map(t); m["detail"] == nil {
				t.Fatalf("%d without the JSON error: %s", r.Status, r.Body)
			}
		default:
			t.Fatalf("login in a burst: %s", r)
		}
	}
	t.Logf("%d logins at once: %v", burst, count)
	if count[http.StatusOK] == 0 || count[http.StatusServiceUnavailable] == 0 {
		t.Fatalf("statuses = %v, want some 200 (the first in the queue) and some 503 (those past the limit)", count)
	}
	// Every password of the burst was right, and a 503 checked none: no
	// attempt is left counted as a failure against these emails.
	var left int
	if err := e.DB.NewSelect().Table("login_failures").ColumnExpr("count(*)").Where("key LIKE 'email:%'").Scan(context.Background(), &left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d failed attempts counted after a burst of right passwords", left)
	}
}
