package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crm/platform/db"
	"crm/platform/dbtest"
)

// slowCreate is a client create whose body is still arriving: the request
// line, the headers and half the body are sent, the rest when finish is
// called. The server has begun reading it, so it is in flight.
type slowCreate struct {
	conn     net.Conn
	email    string
	rest     string
	answered answer
}

func startSlowCreate(t *testing.T, addr, token, email string) *slowCreate {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	body := fmt.Sprintf(`{"first_name":"Slow","last_name":"Body","email":%q}`, email)
	half := len(body) / 2
	head := "POST /api/clients/ HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + token +
		"\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n"
	if _, err := conn.Write([]byte(head + body[:half])); err != nil {
		t.Fatal(err)
	}
	return &slowCreate{conn: conn, email: email, rest: body[half:]}
}

// finish sends the rest of the body and reads the answer.
func (s *slowCreate) finish() answer {
	start := time.Now()
	_ = s.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.conn.Write([]byte(s.rest)); err != nil {
		return answer{err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(s.conn), nil)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, err: err, took: time.Since(start)}
}

// inFlight is one request of the load sent before SIGTERM.
type inFlight struct {
	kind   string // "login" or "create"
	email  string // the employee's email (login) or the client's (create)
	answer answer
	at     time.Time // when the answer arrived
}

// TestShutdownFinishesRequestsInFlight runs the real binary under load
// (logins at the real argon2id cost, client creates, and two creates whose
// body is still arriving), sends SIGTERM while they are in flight and
// checks that every one gets its normal answer, that new connections are
// refused from then on, that the process exits 0 within
// CRM_SHUTDOWN_TIMEOUT, and that every create answered 201 is in the
// database. On SQLite, and on PostgreSQL when CRM_TEST_POSTGRES_URL is set.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	const grace = 30 * time.Second // generous: a loaded machine hashes slowly; the bound itself is TestShutdownEndsWithinTheGracePeriod
	url := dbtest.URL(t)
	// CRM_DB_TIMEOUT bounds a request's whole work, the password hash of a
	// login included: on a loaded machine 12 hashes at the real cost take
	// longer than its default 5s.
	env := crmEnv(url, "CRM_SHUTDOWN_TIMEOUT="+grace.String(), "CRM_DB_TIMEOUT=60s")
	const owner, password = "owner@shutdown.example.com", "shutdown-test-password"
	runCRM(t, env, "accounts", "create", "--name", "Shutdown Co", "--email", owner, "--password", password)
	p := startServe(t, env)
	token := loginToken(t, p.base, owner, password)
	// Logins are spread over four employees: more than ten concurrent
	// logins of one email are refused (429) by the failed-login throttle,
	// which counts an attempt until its password is checked.
	users := []string{owner}
	for i := range 3 {
		email := fmt.Sprintf("employee-%d@shutdown.example.com", i)
		a := call(&http.Client{Timeout: 30 * time.Second}, http.MethodPost, p.base+"/api/employees/", token,
			map[string]string{"name": fmt.Sprintf("Employee %d", i), "email": email, "password": password, "role": "employee"}, nil)
		if a.status != http.StatusCreated {
			t.Fatalf("create employee %s: %v", email, a)
		}
		users = append(users, email)
	}

	// Deterministically in flight: the server is reading their bodies.
	slow := []*slowCreate{
		startSlowCreate(t, p.addr, token, "slow-1@shutdown.example.com"),
		startSlowCreate(t, p.addr, token, "slow-2@shutdown.example.com"),
	}

	// The load: each request on its own connection.
	const logins, creates = 12, 12
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	load := make([]*inFlight, 0, logins+creates)
	for i := range logins + creates {
		f := &inFlight{kind: "login", email: users[i%len(users)]}
		if i >= logins {
			f.kind, f.email = "create", fmt.Sprintf("load-%02d@shutdown.example.com", i)
		}
		load = append(load, f)
	}
	var written, answered sync.WaitGroup
	written.Add(len(load))
	answered.Add(len(load))
	for _, f := range load {
		go func() {
			defer answered.Done()
			var once sync.Once
			wrote := func() { once.Do(written.Done) }
			defer wrote() // a request that failed before it was written
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote() }}
			ctx := httptrace.WithClientTrace(context.Background(), trace)
			var req *http.Request
			if f.kind == "login" {
				req = jsonRequest(ctx, "/api/auth/login/", p.base, "", map[string]string{"email": f.email, "password": password})
			} else {
				req = jsonRequest(ctx, "/api/clients/", p.base, token, map[string]string{"first_name": "Load", "last_name": "Test", "email": f.email})
			}
			f.answer = do(client, req)
			f.at = time.Now()
		}()
	}
	written.Wait()
	// The kernel hands connections to the server in the order they came: once
	// a request on a new connection is answered, the server has accepted
	// every connection of the load.
	if a := call(client, http.MethodGet, p.base+"/healthz", "", nil, nil); a.status != http.StatusOK {
		t.Fatalf("healthz before SIGTERM: %v", a)
	}

	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// New connections are refused while the requests in flight are finished.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			_ = conn.Close()
			continue
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("a new connection after SIGTERM: %v, want connection refused", err)
		}
		refused = true
		break
	}
	if !refused {
		t.Fatal("new connections are still accepted 5s after SIGTERM")
	}
	select {
	case <-p.done:
		t.Fatalf("crm exited (%v) with requests in flight:\n%s", p.err, p.output.String())
	default:
	}

	for _, s := range slow {
		s.answered = s.finish()
		checkCreated(t, "slow create "+s.email, s.answered, s.email)
	}
	answered.Wait()

	afterSignal := 0
	for _, f := range load {
		if f.at.After(signalled) {
			afterSignal++
		}
		switch f.kind {
		case "login":
			if f.answer.status != http.StatusOK {
				t.Errorf("login in flight: %v", f.answer)
				continue
			}
			var out struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal(f.answer.body, &out); err != nil || out.Token == "" {
				t.Errorf("login in flight: no token in %s", f.answer.body)
			}
		case "create":
			checkCreated(t, "create in flight", f.answer, f.email)
		}
	}
	t.Logf("SIGTERM with %d slow bodies and %d of %d loaded requests still unanswered", len(slow), afterSignal, len(load))

	select {
	case <-p.done:
	case <-time.After(grace + 2*time.Second):
		t.Fatalf("crm still runs %v after SIGTERM (CRM_SHUTDOWN_TIMEOUT %v)", time.Since(signalled), grace)
	}
	exited := time.Since(signalled)
	if p.err != nil {
		t.Fatalf("crm exited with %v after SIGTERM, want status 0:\n%s", p.err, p.output.String())
	}
	t.Logf("exited 0, %v after SIGTERM", exited.Round(time.Millisecond))

	// Every create answered 201 is in the database, once.
	emails := []string{}
	for _, s := range slow {
		if s.answered.status == http.StatusCreated {
			emails = append(emails, s.email)
		}
	}
	for _, f := range load {
		if f.kind == "create" && f.answer.status == http.StatusCreated {
			emails = append(emails, f.email)
		}
	}
	d, err := db.Open(url, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, e := range emails {
		var n int
		if err := d.NewRaw("SELECT count(*) FROM clients WHERE email = ?", e).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("client %s answered 201 is %d times in the database", e, n)
		}
	}
}

// TestShutdownEndsWithinTheGracePeriod: a request that never finishes (its
// body never arrives) does not hold the process: the server waits for it
// CRM_SHUTDOWN_TIMEOUT and no more, the process exits with status 1 (the
// grace period cut a request) and the stuck connection is closed.
func TestShutdownEndsWithinTheGracePeriod(t *testing.T) {
	const grace = 2 * time.Second
	url := dbtest.URL(t)
	env := crmEnv(url, "CRM_SHUTDOWN_TIMEOUT="+grace.String(), "CRM_ARGON2_MEMORY_KIB=1024", "CRM_ARGON2_TIME=1")
	const owner, password = "owner@grace.example.com", "grace-test-password"
	runCRM(t, env, "accounts", "create", "--name", "Grace Co", "--email", owner, "--password", password)
	p := startServe(t, env)
	token := loginToken(t, p.base, owner, password)
	stuck := startSlowCreate(t, p.addr, token, "stuck@grace.example.com")
	// Let the server begin reading it.
	if a := call(&http.Client{Timeout: 10 * time.Second}, http.MethodGet, p.base+"/healthz", "", nil, nil); a.status != http.StatusOK {
		t.Fatalf("healthz: %v", a)
	}

	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("crm still runs %v after SIGTERM with a stuck request (CRM_SHUTDOWN_TIMEOUT %v)", time.Since(signalled), grace)
	}
	took := time.Since(signalled)
	if took < grace {
		t.Errorf("crm exited %v after SIGTERM, before the grace period %v, with a request in flight", took, grace)
	}
	if took > grace+time.Second {
		t.Errorf("crm exited %v after SIGTERM, want within the grace period %v (and a second to close)", took, grace)
	}
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("crm exited with %v, want status 1 (requests were cut)", p.err)
	}
	// The stuck request's connection is closed (no answer, no client row).
	_ = stuck.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ne net.Error
	if n, err := stuck.conn.Read(make([]byte, 1)); err == nil || n > 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the stuck connection is still open after exit: read %d, %v", n, err)
	}
	t.Logf("exited %v after SIGTERM with a stuck request: %v", took.Round(time.Millisecond), p.err)
}

func jsonRequest(ctx context.Context, path, base, token string, body any) *http.Request {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func do(client *http.Client, req *http.Request) answer {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, err: err, took: time.Since(start)}
}

// checkCreated checks a client create's answer: 201 with the client.
func checkCreated(t *testing.T, what string, a answer, email string) {
	t.Helper()
	if a.status != http.StatusCreated {
		t.Errorf("%s: %v", what, a)
		return
	}
	var c struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(a.body, &c); err != nil || c.ID <= 0 || c.Email != email {
		t.Errorf("%s: body %s, want the client %s with its id", what, a.body, email)
	}
}
