package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crm/platform/dbtest"
)

// ownPostgres is a PostgreSQL server of the test's own (initdb in a
// temporary folder, its own port) that the test may crash and restart.
type ownPostgres struct {
	bin  string // the folder of initdb, pg_ctl
	dir  string // the temporary folder: data/, the socket, the log
	port int
	user *user.User // the user PostgreSQL runs as when the test is root
}

// postgresBin finds the folder of initdb and pg_ctl: the newest
// /usr/lib/postgresql/*/bin (Debian, Ubuntu), else the PATH.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("initdb is neither in /usr/lib/postgresql/*/bin nor on the PATH")
	}
	d := filepath.Dir(initdb)
	if !isFile(filepath.Join(d, "pg_ctl")) {
		return "", fmt.Errorf("no pg_ctl beside %s", initdb)
	}
	return d, nil
}

func pgVersion(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

func isFile(p string) bool { st, err := os.Stat(p); return err == nil && !st.IsDir() }

// startOwnPostgres creates a cluster and starts it; it is stopped and its
// folder removed when the test ends. PostgreSQL refuses to run as root, so
// as root it runs as the user postgres (runuser).
func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Fatalf("the fault test needs its own PostgreSQL server: %v", err)
	}
	dir, err := os.MkdirTemp("", "crm-faults-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg := &ownPostgres{bin: bin, dir: dir}
	t.Cleanup(func() {
		if isFile(filepath.Join(dir, "data", "postmaster.pid")) {
			_, _ = pg.ctl("stop", "-m", "immediate")
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "postgres.log")); err == nil {
				t.Logf("postgres.log (its end):\n%s", tail(string(b), 4000))
			}
		}
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		if pg.user, err = user.Lookup("postgres"); err != nil {
			t.Fatalf("running as root, PostgreSQL needs the user postgres: %v", err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(pg.user.Uid)
		gid, _ := strconv.Atoi(pg.user.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := pg.run("initdb", "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln := freeAddr(t)
	_, portText, _ := strings.Cut(ln, ":")
	pg.port, _ = strconv.Atoi(portText)
	pg.start(t)
	return pg
}

// run runs one of PostgreSQL's programs (as the user postgres when root).
func (pg *ownPostgres) run(program string, args ...string) (string, error) {
	path := filepath.Join(pg.bin, program)
	var cmd *exec.Cmd
	if pg.user != nil {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = pg.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (pg *ownPostgres) ctl(args ...string) (string, error) {
	return pg.run("pg_ctl", append([]string{"-D", filepath.Join(pg.dir, "data"), "-w", "-t", "60"}, args...)...)
}

func (pg *ownPostgres) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", pg.port, pg.dir)
	if out, err := pg.ctl("-l", filepath.Join(pg.dir, "postgres.log"), "-o", opts, "start"); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// crash stops the server the hard way: every PostgreSQL process quits at
// once, without a checkpoint, as in a crash; the next start recovers from
// the WAL.
func (pg *ownPostgres) crash(t *testing.T) {
	t.Helper()
	if out, err := pg.ctl("stop", "-m", "immediate"); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v\n%s", err, out)
	}
}

// signal sends sig to every process of the server: the postmaster (its pid
// is the first line of postmaster.pid) and its children.
func (pg *ownPostgres) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pg.dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{postmaster}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(postmaster) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && pid == postmaster {
			t.Fatalf("signal %v to the postmaster: %v", sig, err)
		}
	}
}

func (pg *ownPostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// attempt is one client create of the load and what it was answered.
type attempt struct {
	email   string
	started time.Time
	ended   time.Time
	answer  answer
	id      int64 // the id answered with a 201
}

// fault is a way PostgreSQL stops answering in the middle of the load.
type fault struct {
	name      string
	dbTimeout time.Duration // CRM_DB_TIMEOUT of the server
	// clientTimeout bounds every request of the test: an answer that takes
	// longer, or never comes, fails it.
	clientTimeout time.Duration
	breakDB       func(pg *ownPostgres, t *testing.T)
	repairDB      func(pg *ownPostgres, t *testing.T)
}

// TestPostgresCrashMidLoad crashes the API's PostgreSQL server in the middle
// of concurrent writes (pg_ctl stop -m immediate: every PostgreSQL process
// quits at once, without a checkpoint) and starts it again, with the real
// binary running throughout. While the database is down every request is
// answered at once with a 503 JSON error and /readyz is 503: the client's
// time limit (3s) is well under the server's own (CRM_DB_TIMEOUT 10s), so
// an answer that waited for a time limit, or never came, fails the test.
// Once PostgreSQL is back, the same process serves again. Afterwards the
// database holds every create answered 201, and no create half applied: a
// client row exists with its audit event and its webhook outbox row, or
// none of them does (docs/operations.md).
//
// PostgreSQL only: it runs when CRM_TEST_POSTGRES_URL is set (the
// PostgreSQL pass of CI) and then fails, not skips, without initdb and
// pg_ctl.
func TestPostgresCrashMidLoad(t *testing.T) {
	faultUnderLoad(t, fault{
		name: "crash", dbTimeout: 10 * time.Second, clientTimeout: 3 * time.Second,
		breakDB:  (*ownPostgres).crash,
		repairDB: (*ownPostgres).start,
	})
}

// TestPostgresFreezeMidLoad freezes every PostgreSQL process (SIGSTOP: a
// server or a network that stops answering without closing anything) in
// the middle of the load, then thaws it (SIGCONT). A frozen server refuses
// nothing, so requests wait for the server's own limit, CRM_DB_TIMEOUT
// (2s here), and are then answered 503; /readyz answers 503 after its 2s
// ping limit. No request waits longer than the client's 5s limit. The
// database is checked as after a crash.
func TestPostgresFreezeMidLoad(t *testing.T) {
	faultUnderLoad(t, fault{
		name: "freeze", dbTimeout: 2 * time.Second, clientTimeout: 5 * time.Second,
		breakDB:  func(pg *ownPostgres, t *testing.T) { pg.signal(t, syscall.SIGSTOP) },
		repairDB: func(pg *ownPostgres, t *testing.T) { pg.signal(t, syscall.SIGCONT) },
	})
}

// faultUnderLoad runs the real binary on a PostgreSQL of its own, breaks the
// database in the middle of concurrent client creates, repairs it, and
// checks every answer and the database (see TestPostgresCrashMidLoad).
func faultUnderLoad(t *testing.T, f fault) {
	if dbtest.PostgresURL() == "" {
		t.Skip("a PostgreSQL fault test: runs when CRM_TEST_POSTGRES_URL is set")
	}
	pg := startOwnPostgres(t)
	clientTimeout := f.clientTimeout
	env := crmEnv(pg.url(), "CRM_DB_TIMEOUT="+f.dbTimeout.String(), "CRM_ARGON2_MEMORY_KIB=1024", "CRM_ARGON2_TIME=1",
		"CRM_WEBHOOKS_ALLOW_PRIVATE=true")
	const owner, password = "owner@faults.example.com", "faults-test-password"
	accountID := strings.TrimSpace(runCRM(t, env, "accounts", "create", "--name", "Faults Co", "--email", owner, "--password", password))
	p := startServe(t, env)
	token := loginToken(t, p.base, owner, password)
	client := &http.Client{Timeout: clientTimeout}

	// An endpoint for every event: each create writes an outbox row
	// (delivery is off, so the rows stay as written and nothing is sent).
	if a := call(client, http.MethodPost, p.base+"/api/webhook-endpoints/", token,
		map[string]any{"url": "http://127.0.0.1:9/crm", "event_types": []string{"*"}}, nil); a.status != http.StatusCreated {
		t.Fatalf("register the webhook endpoint: %v", a)
	}

	// The load: workers creating clients with unique emails until stopped.
	const workers = 8
	var (
		mu       sync.Mutex
		attempts []*attempt
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				at := &attempt{email: fmt.Sprintf("w%d-%04d@faults.example.com", w, i), started: time.Now()}
				at.answer = call(client, http.MethodPost, p.base+"/api/clients/", token,
					map[string]string{"first_name": "Fault", "last_name": fmt.Sprintf("W%d N%d", w, i), "email": at.email}, nil)
				at.ended = time.Now()
				if at.answer.status == http.StatusCreated {
					var c struct {
						ID int64 `json:"id"`
					}
					_ = json.Unmarshal(at.answer.body, &c)
					at.id = c.ID
				}
				mu.Lock()
				attempts = append(attempts, at)
				mu.Unlock()
				if at.answer.status != http.StatusCreated {
					time.Sleep(20 * time.Millisecond) // no busy loop while down
				}
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	created := func(after time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range attempts {
			if a.answer.status == http.StatusCreated && a.started.After(after) {
				n++
			}
		}
		return n
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(limit); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, limit)
			}
		}
	}
	waitFor("40 clients created before the "+f.name, 60*time.Second, func() bool { return created(time.Time{}) >= 40 })

	// The fault, in the middle of the writes.
	breaking := time.Now()
	f.breakDB(pg, t)
	down := time.Now()
	t.Logf("PostgreSQL down (%s, done in %v)", f.name, down.Sub(breaking).Round(time.Millisecond))

	// While it is down: 503 JSON, on the probe and on the API, all at once.
	var probes sync.WaitGroup
	// (Not /api/auth/me/: a principal cached by identity answers it
	// without the database.)
	for _, path := range []string{"/readyz", "/api/clients/", "/api/clients/?status=active"} {
		probes.Go(func() {
			a := call(client, http.MethodGet, p.base+path, token, nil, nil)
			if a.status != http.StatusServiceUnavailable || a.detail() == "" {
				t.Errorf("GET %s with the database down: %v, want 503 with a detail", path, a)
			}
		})
	}
	probes.Wait()
	waitFor("workers answered while the database is down", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range attempts {
			if a.started.After(down) {
				n++
			}
		}
		return n >= 2*workers
	})

	// Back: the same process serves again, without a restart.
	up := time.Now() // requests from here on may reach the database again
	f.repairDB(pg, t)
	ready := time.Time{}
	waitFor("/readyz 200 after PostgreSQL is back", 30*time.Second, func() bool {
		if call(client, http.MethodGet, p.base+"/readyz", "", nil, nil).status == http.StatusOK {
			ready = time.Now()
			return true
		}
		return false
	})
	t.Logf("PostgreSQL back: /readyz 200 after %v", ready.Sub(up).Round(time.Millisecond))
	waitFor("40 clients created after PostgreSQL is back", 60*time.Second, func() bool { return created(ready) >= 40 })
	stopLoad()
	select {
	case <-p.done:
		t.Fatalf("crm serve ended: %v", p.err)
	default:
	}

	// Every answer, by phase.
	var ok, unavailable, committedAnyway int
	var slowest503 time.Duration
	byEmail := map[string]*attempt{}
	for _, a := range attempts {
		byEmail[a.email] = a
		switch {
		case a.answer.err != nil:
			t.Errorf("create %s got no answer (the client gives up after %v): %v", a.email, clientTimeout, a.answer)
		case a.answer.status == http.StatusCreated:
			ok++
			if a.started.After(down) && a.ended.Before(up) {
				t.Errorf("create %s answered 201 while PostgreSQL was down (%s)", a.email, f.name)
			}
			if a.id <= 0 {
				t.Errorf("create %s: 201 without an id: %s", a.email, a.answer.body)
			}
		case a.answer.status == http.StatusServiceUnavailable && a.answer.detail() != "":
			unavailable++
			slowest503 = max(slowest503, a.answer.took)
			if a.started.After(ready.Add(2 * time.Second)) {
				t.Errorf("create %s answered 503 %v after /readyz said 200: %v", a.email, a.started.Sub(ready), a.answer)
			}
		default:
			t.Errorf("create %s: %v, want 201 or a 503 with a detail", a.email, a.answer)
		}
	}
	if unavailable == 0 {
		t.Error("no create was answered 503: the crash hit no request")
	}

	// The database, read directly: every create is whole or absent.
	conn, err := sql.Open("pgx", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	clients := map[int64]string{} // id → email
	rows, err := conn.QueryContext(ctx, "SELECT id, email FROM clients WHERE account_id = $1", accountID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			t.Fatal(err)
		}
		clients[id] = email
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	events := countBy(t, conn, "SELECT object_id FROM audit_events WHERE account_id = $1 AND object_type = 'client' AND action = 'create'", accountID)
	outbox := map[int64]int{}
	rows, err = conn.QueryContext(ctx, "SELECT payload FROM webhook_deliveries WHERE account_id = $1 AND event_type = 'client.created'", accountID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var payload string
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Data struct {
				Object struct {
					ID int64 `json:"id"`
				} `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatalf("outbox payload %s: %v", payload, err)
		}
		outbox[ev.Data.Object.ID]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	seen := map[string]int64{}
	for id, email := range clients {
		if other, dup := seen[email]; dup {
			t.Errorf("client %s twice: ids %d and %d", email, other, id)
		}
		seen[email] = id
		if events[id] != 1 || outbox[id] != 1 {
			t.Errorf("client %d (%s) half applied: %d audit events, %d outbox rows, want 1 and 1", id, email, events[id], outbox[id])
		}
		a := byEmail[email]
		switch {
		case a == nil:
			t.Errorf("client %d (%s) was never sent", id, email)
		case a.answer.status == http.StatusCreated && a.id != id:
			t.Errorf("client %s answered id %d, stored as %d", email, a.id, id)
		case a.answer.status != http.StatusCreated:
			committedAnyway++ // the commit was applied, its answer lost in the crash
		}
	}
	for id, n := range events {
		if _, ok := clients[id]; !ok {
			t.Errorf("%d audit create events for client %d, which does not exist", n, id)
		}
	}
	for id, n := range outbox {
		if _, ok := clients[id]; !ok {
			t.Errorf("%d outbox rows for client %d, which does not exist", n, id)
		}
	}
	for _, a := range attempts {
		if a.answer.status == http.StatusCreated {
			if _, ok := seen[a.email]; !ok {
				t.Errorf("create %s answered 201 (id %d) is not in the database", a.email, a.id)
			}
		}
	}
	t.Logf("%d creates: %d answered 201 (all stored), %d answered 503 in at most %v (%d of them committed whole before the answer was lost, the rest absent); %d clients in the database",
		len(attempts), ok, unavailable, slowest503.Round(time.Millisecond), committedAnyway, len(clients))
}

// countBy counts the rows of a one-column query by their value.
func countBy(t *testing.T, conn *sql.DB, query string, args ...any) map[int64]int {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out[v]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
