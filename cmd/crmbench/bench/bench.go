// Package bench runs the benchmark scenarios of docs/benchmarks.md against a
// running API loaded with the standard dataset (crm seed bench): a closed
// loop of C connections for a fixed time per scenario, with the vegeta
// library, and the server's (and optionally PostgreSQL's) CPU and memory
// read from /proc.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crm/cmd/crm/benchdata"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Options of a run.
type Options struct {
	URL         string        // base URL of the API, e.g. http://127.0.0.1:8080
	Duration    time.Duration // measured time of each scenario
	Warmup      time.Duration // unmeasured load before each scenario
	Connections int           // concurrent connections (and requests in flight)
	Scenarios   []string      // names to run; empty: all, in the standard order
	PID         int           // the server process; 0: found by the URL's port
	DBName      string        // count the CPU of PostgreSQL backends of this database ("" with DBCPU: every postgres process)
	DBCPU       bool          // measure PostgreSQL's CPU too
	ResetPeak   bool          // reset the server's VmHWM before each scenario (else it is the peak since the server started)
	Log         io.Writer     // setup messages (nil: none)
	Seed        uint64        // of the random client ids
	Timeout     time.Duration // of one request
}

// Result is one scenario's figures.
type Result struct {
	Scenario    string
	Requests    uint64
	Errors      uint64
	FirstError  string
	Rate        float64       // requests per second
	P50, P99    time.Duration // latency
	ServerCPU   time.Duration // CPU of the server process during the measured run
	DBCPU       time.Duration // CPU of PostgreSQL during the measured run (when measured)
	LoadGenCPU  time.Duration // CPU of this process (the load generator)
	PeakRSS     int64         // VmHWM of the server after the run
	RSS         int64         // VmRSS of the server after the run
	DBMeasured  bool
	Elapsed     time.Duration
	StatusCodes map[string]int
}

// CPUPerRequest of the server, of the database and of both.
func (r Result) CPUPerRequest() (server, db, both time.Duration) {
	if r.Requests == 0 {
		return 0, 0, 0
	}
	n := time.Duration(r.Requests)
	return r.ServerCPU / n, r.DBCPU / n, (r.ServerCPU + r.DBCPU) / n
}

// Scenario is one kind of request, built once the fixtures are known.
type Scenario struct {
	Name string
	What string // for the report
	// targeter returns the request maker of the scenario.
	targeter func(f *fixtures) vegeta.Targeter
}

// fixtures are what the scenarios need: tokens and client ids.
type fixtures struct {
	base      string
	admin     string // bench@example.com (super_admin of Bench Co)
	employee  string // emp6@bench.example.com
	other     string // other1@example.com (create_client writes there)
	clientIDs []int64
	mu        sync.Mutex // rng is shared by the workers
	rng       *rand.Rand
	runID     string
	created   atomic.Int64
}

func (f *fixtures) get(token, path string) vegeta.Target {
	return vegeta.Target{Method: http.MethodGet, URL: f.base + path, Header: http.Header{"Authorization": {"Bearer " + token}}}
}

// randomClient picks a client id; the generator is shared by the workers.
func (f *fixtures) randomClient() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clientIDs[f.rng.IntN(len(f.clientIDs))]
}

func fixed(t func(f *fixtures) vegeta.Target) func(f *fixtures) vegeta.Targeter {
	return func(f *fixtures) vegeta.Targeter {
		tgt := t(f)
		return func(out *vegeta.Target) error { *out = tgt; return nil }
	}
}

// Scenarios in the standard order (issue 7).
var Scenarios = []Scenario{
	{Name: "list_clients", What: "GET /api/clients/ as the super_admin",
		targeter: fixed(func(f *fixtures) vegeta.Target { return f.get(f.admin, "/api/clients/") })},
	{Name: "list_clients_search", What: "GET /api/clients/?search=smith",
		targeter: fixed(func(f *fixtures) vegeta.Target { return f.get(f.admin, "/api/clients/?search=smith") })},
	{Name: "list_clients_filtered", What: "GET /api/clients/?status=active&country=US&page=3",
		targeter: fixed(func(f *fixtures) vegeta.Target {
			return f.get(f.admin, "/api/clients/?status=active&country=US&page=3")
		})},
	{Name: "employee_clients", What: "GET /api/clients/ as emp6 (assigned clients only)",
		targeter: fixed(func(f *fixtures) vegeta.Target { return f.get(f.employee, "/api/clients/") })},
	{Name: "client_detail", What: "GET /api/clients/{random id}/",
		targeter: func(f *fixtures) vegeta.Targeter {
			return func(t *vegeta.Target) error {
				*t = f.get(f.admin, "/api/clients/"+strconv.FormatInt(f.randomClient(), 10)+"/")
				return nil
			}
		}},
	{Name: "client_statistics", What: "GET /api/clients/statistics/",
		targeter: fixed(func(f *fixtures) vegeta.Target { return f.get(f.admin, "/api/clients/statistics/") })},
	{Name: "payment_statistics", What: "GET /api/payments/statistics/",
		targeter: fixed(func(f *fixtures) vegeta.Target { return f.get(f.admin, "/api/payments/statistics/") })},
	{Name: "payments_by_client", What: "GET /api/payments/?client={random id}",
		targeter: func(f *fixtures) vegeta.Targeter {
			return func(t *vegeta.Target) error {
				*t = f.get(f.admin, "/api/payments/?client="+strconv.FormatInt(f.randomClient(), 10))
				return nil
			}
		}},
	{Name: "create_client", What: "POST /api/clients/ into Other Co 1 (a new email each time)",
		targeter: func(f *fixtures) vegeta.Targeter {
			return func(t *vegeta.Target) error {
				n := f.created.Add(1)
				body := fmt.Sprintf(`{"first_name":"Load","last_name":"Test %d","email":"load.%s.%d@crmbench.example.com","phone":"+15551234567","status":"active","country":"US","currency":"USD","notes":"crmbench"}`, n, f.runID, n)
				*t = vegeta.Target{Method: http.MethodPost, URL: f.base + "/api/clients/", Body: []byte(body),
					Header: http.Header{"Authorization": {"Bearer " + f.other}, "Content-Type": {"application/json"}}}
				return nil
			}
		}},
	{Name: "me", What: "GET /api/auth/me/",
		targeter: fixed(func(f *fixtures) vegeta.Target { return f.get(f.admin, "/api/auth/me/") })},
}

// ScenarioNames in the standard order.
func ScenarioNames() []string {
	out := make([]string, len(Scenarios))
	for i, s := range Scenarios {
		out[i] = s.Name
	}
	return out
}

func pick(names []string) ([]Scenario, error) {
	if len(names) == 0 {
		return Scenarios, nil
	}
	var out []Scenario
	for _, n := range names {
		found := false
		for _, s := range Scenarios {
			if s.Name == n {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", n, strings.Join(ScenarioNames(), ", "))
		}
	}
	return out, nil
}

// Run sets up the fixtures (logins, client ids) and runs the scenarios one
// after the other, calling report after each.
func Run(ctx context.Context, o Options, report func(Result)) ([]Result, error) {
	if o.Connections <= 0 {
		o.Connections = 32
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	scenarios, err := pick(o.Scenarios)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(o.URL, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://HOST:PORT", o.URL)
	}
	pid := o.PID
	if pid == 0 {
		port, _ := strconv.Atoi(u.Port())
		if port == 0 {
			port = 80
		}
		if pid, err = pidListening(port); err != nil {
			return nil, err
		}
	}
	f, err := setup(ctx, base, o.Seed)
	if err != nil {
		return nil, err
	}
	client, tr := newClient(o)
	defer tr.CloseIdleConnections()
	if o.ResetPeak {
		// The logins' memory goes back to the system only after a few
		// collections: some load first, so the first scenario's peak is
		// its own.
		atk := newAttacker(o, client)
		for range atk.Attack(fixed(func(f *fixtures) vegeta.Target { return f.get(f.admin, "/api/auth/me/") })(f),
			vegeta.Rate{Freq: 0}, 3*time.Second, "settle") {
		}
	}
	if o.Log != nil {
		peak, rss, _ := memOf(pid)
		fmt.Fprintf(o.Log, "server pid %d: RSS %s MB, peak so far %s MB (start-up and the 3 logins: argon2id takes its memory cost per hash); %d client ids\n",
			pid, mb(rss), mb(peak), len(f.clientIDs))
		if o.ResetPeak {
			fmt.Fprintln(o.Log, "peak RSS below: each scenario's own (VmHWM reset after its warm-up)")
		} else {
			fmt.Fprintln(o.Log, "peak RSS below: since the server started (VmHWM, not reset)")
		}
	}
	var out []Result
	for _, s := range scenarios {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r, err := runOne(o, pid, client, f, s)
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.Name, err)
		}
		out = append(out, r)
		if report != nil {
			report(r)
		}
	}
	return out, nil
}

// newClient is the one HTTP client of a run: its --connections keep-alive
// connections serve the warm-ups and every scenario, as a client pool
// would; a new set per scenario would leave the earlier ones idle on the
// server, holding its memory until they time out.
func newClient(o Options) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        o.Connections,
		MaxIdleConnsPerHost: o.Connections,
		MaxConnsPerHost:     o.Connections,
		IdleConnTimeout:     time.Minute,
	}
	return &http.Client{Transport: tr, Timeout: o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, tr
}

func newAttacker(o Options, client *http.Client) *vegeta.Attacker {
	c := uint64(o.Connections)
	return vegeta.NewAttacker(vegeta.Workers(c), vegeta.MaxWorkers(c), vegeta.Client(client))
}

// runOne is a closed loop: C workers, each sending its next request when
// the previous one is answered (no rate limit), first for the warm-up, then
// for the measured duration.
func runOne(o Options, pid int, client *http.Client, f *fixtures, s Scenario) (Result, error) {
	tr := s.targeter(f)
	max := vegeta.Rate{Freq: 0} // as fast as the workers go
	if o.Warmup > 0 {
		atk := newAttacker(o, client)
		for range atk.Attack(tr, max, o.Warmup, s.Name+"-warmup") {
		}
	}
	if o.ResetPeak {
		if err := resetPeak(pid); err != nil {
			return Result{}, fmt.Errorf("reset the peak RSS (run without --reset-peak?): %w", err)
		}
	}
	var dbPIDs []int
	if o.DBCPU {
		dbPIDs = postgresPIDs(o.DBName)
	}
	db0 := snapshot(dbPIDs)
	srv0, err := cpuOf(pid)
	if err != nil {
		return Result{}, fmt.Errorf("server process %d: %w", pid, err)
	}
	self0, _ := cpuOf(os.Getpid())
	start := time.Now()

	var m vegeta.Metrics
	var errCount uint64
	first := ""
	atk := newAttacker(o, client)
	for res := range atk.Attack(tr, max, o.Duration, s.Name) {
		m.Add(res)
		if res.Error != "" {
			errCount++
			if first == "" {
				first = fmt.Sprintf("%s %s: %s %s", res.Method, res.URL, res.Error, bytes.TrimSpace(res.Body))
			}
		}
	}
	m.Close()
	elapsed := time.Since(start)
	srv1, err := cpuOf(pid)
	if err != nil {
		return Result{}, fmt.Errorf("server process %d: %w", pid, err)
	}
	self1, _ := cpuOf(os.Getpid())
	r := Result{Scenario: s.Name, Requests: m.Requests, Errors: errCount, FirstError: first,
		P50: m.Latencies.P50, P99: m.Latencies.P99, ServerCPU: srv1 - srv0, LoadGenCPU: self1 - self0,
		Elapsed: elapsed, StatusCodes: m.StatusCodes, DBMeasured: o.DBCPU}
	if elapsed > 0 {
		r.Rate = float64(m.Requests) / elapsed.Seconds()
	}
	if o.DBCPU {
		r.DBCPU = snapshot(postgresPIDs(o.DBName)).since(db0)
	}
	r.PeakRSS, r.RSS, _ = memOf(pid)
	return r, nil
}

// setup signs in the three users and collects client ids across the whole
// of Bench Co, for the scenarios that pick a random client.
func setup(ctx context.Context, base string, seed uint64) (*fixtures, error) {
	f := &fixtures{base: base, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		runID: strconv.FormatInt(time.Now().UnixNano(), 36)}
	var err error
	if f.admin, err = login(ctx, base, "bench@example.com"); err != nil {
		return nil, err
	}
	if f.employee, err = login(ctx, base, benchdata.Standard().Accounts()[0].EmployeeEmail(6)); err != nil {
		return nil, err
	}
	if f.other, err = login(ctx, base, "other1@example.com"); err != nil {
		return nil, err
	}
	f.clientIDs, err = clientIDs(ctx, base, f.admin)
	if err != nil {
		return nil, err
	}
	if len(f.clientIDs) == 0 {
		return nil, errors.New("Bench Co has no clients: run `crm seed bench` first")
	}
	return f, nil
}

func login(ctx context.Context, base, email string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": benchdata.Password})
	var out struct {
		Token string `json:"token"`
	}
	if err := call(ctx, http.MethodPost, base+"/api/auth/login/", "", body, &out); err != nil {
		return "", fmt.Errorf("log in as %s (is the bench dataset loaded?): %w", email, err)
	}
	return out.Token, nil
}

// clientIDs reads up to 20 pages of 200 clients spread over the whole list.
func clientIDs(ctx context.Context, base, token string) ([]int64, error) {
	type page struct {
		Count   int `json:"count"`
		Results []struct {
			ID int64 `json:"id"`
		} `json:"results"`
	}
	var ids []int64
	read := func(n int) (int, error) {
		var p page
		if err := call(ctx, http.MethodGet, fmt.Sprintf("%s/api/clients/?page_size=200&page=%d", base, n), token, nil, &p); err != nil {
			return 0, err
		}
		for _, r := range p.Results {
			ids = append(ids, r.ID)
		}
		return p.Count, nil
	}
	count, err := read(1)
	if err != nil {
		return nil, fmt.Errorf("list the clients: %w", err)
	}
	pages := (count + 199) / 200
	step := max(1, pages/20)
	for n := 1 + step; n <= pages; n += step {
		if _, err := read(n); err != nil {
			return nil, fmt.Errorf("list the clients: %w", err)
		}
	}
	return ids, nil
}

func call(ctx context.Context, method, u, token string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}
