package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"crm/cmd/crm/benchdata"
	"crm/cmd/crmbench/bench"
	"crm/modules/accounts"
	"crm/platform/apptest"
	"crm/platform/dbtest"

	"go.uber.org/fx"
)

// expected is the "Expected results" table of shared/DATASET.md for one N.
// The N=20000 column is DATASET.md's own; the N=2000 one was computed from
// its formulas by a separate script (not by the Go code under test), since
// the table scales with N.
type expected struct {
	clients     int
	statistics  map[string]int // as an admin
	emp6        map[string]int // as emp6@bench.example.com (T[0])
	teamMin     int            // clients visible to the least and the most
	teamMax     int            // served team member
	smith       int
	perCountry  int
	perSchedule int
	cpStatus    map[string]int
	payStatus   map[string]int
	totalAmount string
	currencies  map[string][3]string // count, total_amount, paid_amount
	instStatus  map[string]int
}

var expectations = map[int]expected{
	20000: {
		clients:     20000,
		statistics:  map[string]int{"total": 20000, "active": 14000, "inactive": 2000, "onboarding": 2400, "paused": 1000, "cancelled": 600},
		emp6:        map[string]int{"total": 1333, "active": 931, "inactive": 134, "onboarding": 158, "paused": 66, "cancelled": 44},
		teamMin:     1332,
		teamMax:     1335,
		smith:       207,
		perCountry:  2000,
		perSchedule: 5000,
		cpStatus:    map[string]int{"active": 17400, "inactive": 2600},
		payStatus:   map[string]int{"paid": 54000, "failed": 3600, "refunded": 1800, "disputed": 600},
		totalAmount: "14429700.00",
		currencies: map[string][3]string{
			"EUR": {"20001", "4810499.01", "4328008.20"},
			"GBP": {"19998", "4809299.01", "4328010.90"},
			"USD": {"20001", "4809901.98", "4328010.90"},
		},
		instStatus: map[string]int{"paid": 20000, "open": 38800, "closed": 1200},
	},
	2000: {
		clients:     2000,
		statistics:  map[string]int{"total": 2000, "active": 1400, "inactive": 200, "onboarding": 240, "paused": 100, "cancelled": 60},
		emp6:        map[string]int{"total": 133, "active": 91, "inactive": 14, "onboarding": 18, "paused": 6, "cancelled": 4},
		teamMin:     132,
		teamMax:     135,
		smith:       21,
		perCountry:  200,
		perSchedule: 500,
		cpStatus:    map[string]int{"active": 1740, "inactive": 260},
		payStatus:   map[string]int{"paid": 5400, "failed": 360, "refunded": 180, "disputed": 60},
		totalAmount: "1442970.00",
		currencies: map[string][3]string{
			"EUR": {"2001", "481589.01", "432799.20"},
			"GBP": {"1998", "480389.01", "432801.90"},
			"USD": {"2001", "480991.98", "432801.90"},
		},
		instStatus: map[string]int{"paid": 2000, "open": 3880, "closed": 120},
	},
}

// benchEnv is the environment of the CLI for the test's database.
func benchEnv(t *testing.T) string {
	t.Helper()
	u := dbtest.URL(t)
	t.Setenv("CRM_DATABASE_URL", u)
	t.Setenv("CRM_JWT_SECRET", "bench-test-secret-0123456789-0123456789")
	t.Setenv("CRM_ARGON2_MEMORY_KIB", "1024")
	t.Setenv("CRM_ARGON2_TIME", "1")
	t.Setenv("CRM_POLICY_DIR", "")
	t.Setenv("CRM_LOG_LEVEL", "error")
	return u
}

func seed(t *testing.T, args ...string) {
	t.Helper()
	var out bytes.Buffer
	if err := run(append([]string{"seed", "bench"}, args...), nil, &out); err != nil {
		t.Fatalf("crm seed bench %v: %v", args, err)
	}
	t.Logf("%s", out.String())
}

// benchApp is the real app (every module) on the loaded database.
type benchApp struct {
	*apptest.App
}

func (a benchApp) login(email string) string {
	a.T.Helper()
	r := apptest.Expect(a.T, a.Post("", "/api/auth/login/", map[string]string{"email": email, "password": benchdata.Password}), http.StatusOK)
	var out struct {
		Token string `json:"token"`
	}
	r.JSON(a.T, &out)
	return out.Token
}

func (a benchApp) count(token, path string, query url.Values) int {
	a.T.Helper()
	query.Set("page_size", "1")
	var page struct {
		Count int `json:"count"`
	}
	apptest.Expect(a.T, a.Get(token, path+"?"+query.Encode()), http.StatusOK).JSON(a.T, &page)
	return page.Count
}

func (a benchApp) counts(token, path string) map[string]int {
	a.T.Helper()
	var m map[string]int
	apptest.Expect(a.T, a.Get(token, path), http.StatusOK).JSON(a.T, &m)
	return m
}

func equalCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %d, want %d (all: %v)", what, k, got[k], v, got)
		}
	}
}

// TestSeedBenchExpectedResults loads the dataset twice (the second load
// wipes the first) through the CLI, then checks the "Expected results" of
// DATASET.md through the real API. SQLite: N=2000. PostgreSQL: the standard
// N=20000.
func TestSeedBenchExpectedResults(t *testing.T) {
	n := 2000
	if dbtest.PostgresURL() != "" && !testing.Short() {
		n = 20000
	}
	want := expectations[n]
	dbURL := benchEnv(t)
	seed(t, "--clients", "300")

	var accSvc *accounts.Service
	a := benchApp{apptest.New(t, fx.Options(Modules(), fx.Populate(&accSvc)), apptest.WithDatabaseURL(dbURL))}
	// Activity on the first dataset (a login writes the audit log), and an
	// account that is no bench account: the reload keeps it.
	a.login("bench@example.com")
	acc, owner, err := accSvc.CreateWithOwner(context.Background(), "Keep Co", "owner@keep.example.com", "keep-password-1")
	if err != nil {
		t.Fatal(err)
	}
	keep := acc.ID
	auditRows := func() int {
		var n int
		if err := a.DB.NewRaw("SELECT count(*) FROM audit_events").Scan(context.Background(), &n); err != nil {
			return -1 // no audit log in this build
		}
		return n
	}
	audited := auditRows()

	seed(t, "--clients", fmt.Sprint(n))

	admin := a.login("bench@example.com")
	if dbtest.PostgresURL() != "" {
		// The load gives the search's trigram index a large pending list
		// and gives it back its own settings (migrations/clients).
		var opts string
		if err := a.DB.NewRaw("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'clients_search_trgm'").Scan(context.Background(), &opts); err != nil {
			t.Fatal(err)
		}
		if opts != "fastupdate=on,gin_pending_list_limit=128" {
			t.Errorf("clients_search_trgm after the load: %q", opts)
		}
		// The planner's statistics are refreshed by the load (an explicit
		// ANALYZE: autovacuum's would show as last_autoanalyze).
		var analyzed int
		if err := a.DB.NewRaw("SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('clients', 'payments', 'instalments', 'client_packages', 'employees') AND last_analyze IS NOT NULL").
			Scan(context.Background(), &analyzed); err != nil || analyzed != 5 {
			t.Errorf("tables analyzed by the load: %d of 5 (%v)", analyzed, err)
		}
	}
	t.Run("rows", func(t *testing.T) {
		if got := a.count(admin, "/api/employees/", url.Values{}); got != 51 {
			t.Errorf("employees = %d, want 51", got)
		}
		for role, want := range map[string]int{"super_admin": 1, "admin": 5, "employee": 45} {
			if got := a.count(admin, "/api/employees/", url.Values{"role": {role}}); got != want {
				t.Errorf("employees with role %s = %d, want %d", role, got, want)
			}
		}
		for path, n := range map[string]int{"/api/clients/": want.clients, "/api/packages/": 5, "/api/client-packages/": want.clients,
			"/api/payments/": 3 * want.clients, "/api/installments/": 3 * want.clients} {
			if got := a.count(admin, path, url.Values{}); got != n {
				t.Errorf("%s count = %d, want %d", path, got, n)
			}
		}
	})
	t.Run("client packages by schedule and status", func(t *testing.T) {
		for _, s := range benchdata.Schedules {
			if got := a.count(admin, "/api/client-packages/", url.Values{"payment_schedule": {s}}); got != want.perSchedule {
				t.Errorf("payment_schedule=%s: %d, want %d", s, got, want.perSchedule)
			}
		}
		for st, n := range want.cpStatus {
			if got := a.count(admin, "/api/client-packages/", url.Values{"status": {st}}); got != n {
				t.Errorf("client packages status=%s: %d, want %d", st, got, n)
			}
		}
	})
	t.Run("payments by status", func(t *testing.T) {
		for st, n := range want.payStatus {
			if got := a.count(admin, "/api/payments/", url.Values{"status": {st}}); got != n {
				t.Errorf("payments status=%s: %d, want %d", st, got, n)
			}
		}
	})
	t.Run("payment statistics", func(t *testing.T) {
		var st struct {
			TotalPayments int    `json:"total_payments"`
			TotalAmount   string `json:"total_amount"`
			Paid          int    `json:"paid"`
			Failed        int    `json:"failed"`
			Refunded      int    `json:"refunded"`
			Disputed      int    `json:"disputed"`
			ByCurrency    []struct {
				Currency    string `json:"currency"`
				Count       int    `json:"count"`
				TotalAmount string `json:"total_amount"`
				PaidAmount  string `json:"paid_amount"`
			} `json:"totals_by_currency"`
		}
		apptest.Expect(t, a.Get(admin, "/api/payments/statistics/"), http.StatusOK).JSON(t, &st)
		equalCounts(t, "payment statistics", map[string]int{"total": st.TotalPayments, "paid": st.Paid, "failed": st.Failed, "refunded": st.Refunded, "disputed": st.Disputed},
			map[string]int{"total": 3 * want.clients, "paid": want.payStatus["paid"], "failed": want.payStatus["failed"], "refunded": want.payStatus["refunded"], "disputed": want.payStatus["disputed"]})
		if st.TotalAmount != want.totalAmount {
			t.Errorf("total_amount = %s, want %s", st.TotalAmount, want.totalAmount)
		}
		if len(st.ByCurrency) != len(want.currencies) {
			t.Errorf("totals_by_currency: %+v, want %d currencies", st.ByCurrency, len(want.currencies))
		}
		for _, c := range st.ByCurrency {
			w := want.currencies[c.Currency]
			if got := [3]string{fmt.Sprint(c.Count), c.TotalAmount, c.PaidAmount}; got != w {
				t.Errorf("%s: count / total_amount / paid_amount = %v, want %v", c.Currency, got, w)
			}
		}
	})
	t.Run("instalments by status", func(t *testing.T) {
		for st, n := range want.instStatus {
			if got := a.count(admin, "/api/installments/", url.Values{"status": {st}}); got != n {
				t.Errorf("installments status=%s: %d, want %d", st, got, n)
			}
		}
	})
	t.Run("client statistics as an admin", func(t *testing.T) {
		equalCounts(t, "statistics", a.counts(admin, "/api/clients/statistics/"), want.statistics)
		// Any admin of the account sees the same.
		equalCounts(t, "statistics as emp1", a.counts(a.login("emp1@bench.example.com"), "/api/clients/statistics/"), want.statistics)
	})
	t.Run("client statistics as emp6", func(t *testing.T) {
		equalCounts(t, "statistics as emp6", a.counts(a.login("emp6@bench.example.com"), "/api/clients/statistics/"), want.emp6)
	})
	t.Run("clients visible to each team member", func(t *testing.T) {
		for e := 6; e <= 50; e++ {
			got := a.count(a.login(fmt.Sprintf("emp%d@bench.example.com", e)), "/api/clients/", url.Values{})
			if got < want.teamMin || got > want.teamMax {
				t.Errorf("emp%d sees %d clients, want %d..%d", e, got, want.teamMin, want.teamMax)
			}
		}
	})
	t.Run("search smith", func(t *testing.T) {
		if got := a.count(admin, "/api/clients/", url.Values{"search": {"smith"}}); got != want.smith {
			t.Errorf("search=smith: %d, want %d", got, want.smith)
		}
	})
	t.Run("countries", func(t *testing.T) {
		for _, c := range benchdata.Countries {
			if got := a.count(admin, "/api/clients/", url.Values{"country": {c}}); got != want.perCountry {
				t.Errorf("country=%s: %d, want %d", c, got, want.perCountry)
			}
		}
	})
	t.Run("other accounts", func(t *testing.T) {
		for o := 1; o <= benchdata.OtherAccounts; o++ {
			tok := a.login(fmt.Sprintf("other%d@example.com", o))
			equalCounts(t, fmt.Sprintf("Other Co %d statistics", o), a.counts(tok, "/api/clients/statistics/"),
				map[string]int{"total": 1000, "active": 700, "inactive": 100, "onboarding": 120, "paused": 50, "cancelled": 30})
			if got := a.count(tok, "/api/employees/", url.Values{}); got != 6 {
				t.Errorf("Other Co %d employees = %d, want 6", o, got)
			}
			if got := a.count(tok, "/api/clients/", url.Values{"search": {"smith"}}); got != 11 {
				t.Errorf("Other Co %d search=smith = %d, want 11", o, got)
			}
			for path, n := range map[string]int{"/api/payments/": 3000, "/api/installments/": 3000} {
				if got := a.count(tok, path, url.Values{}); got != n {
					t.Errorf("Other Co %d %s count = %d, want %d", o, path, got, n)
				}
			}
		}
	})
	t.Run("reload keeps other accounts", func(t *testing.T) {
		var name string
		if err := a.DB.NewRaw("SELECT name FROM accounts WHERE id = ?", keep).Scan(context.Background(), &name); err != nil || name != "Keep Co" {
			t.Errorf("Keep Co after the reload: %q, %v", name, err)
		}
		var email string
		if err := a.DB.NewRaw("SELECT email FROM employees WHERE id = ?", owner).Scan(context.Background(), &email); err != nil || email != "owner@keep.example.com" {
			t.Errorf("Keep Co's owner after the reload: %q, %v", email, err)
		}
		// The audit log is append-only: the reload deletes none of it, and
		// the account it belongs to is kept, renamed, with no login left.
		if got := auditRows(); got < audited {
			t.Errorf("audit events: %d before the reload, %d after", audited, got)
		}
		var retiredLogins int
		if err := a.DB.NewRaw("SELECT count(*) FROM employees e JOIN accounts a ON a.id = e.account_id WHERE a.name LIKE 'Bench Co (bench data wiped%'").
			Scan(context.Background(), &retiredLogins); err != nil || retiredLogins != 0 {
			t.Errorf("logins left in a retired bench account: %d, %v", retiredLogins, err)
		}
		// Nothing points at a deleted account: the wipe skips row-by-row
		// foreign key checks only where every referencing table was
		// emptied first.
		var tables []string
		q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE c.name = 'account_id')"
		if dbtest.PostgresURL() != "" {
			q = "SELECT table_name::text FROM information_schema.columns WHERE column_name = 'account_id' AND table_schema = current_schema()"
		}
		if err := a.DB.NewRaw(q).Scan(context.Background(), &tables); err != nil || len(tables) < 8 {
			t.Fatalf("tables with account_id: %v, %v", tables, err)
		}
		for _, tb := range tables {
			var dangling int
			if err := a.DB.NewRaw(`SELECT count(*) FROM "`+tb+`" WHERE account_id IS NOT NULL AND account_id NOT IN (SELECT id FROM accounts)`).
				Scan(context.Background(), &dangling); err != nil || dangling != 0 {
				t.Errorf("%s: %d rows of deleted accounts (%v)", tb, dangling, err)
			}
		}
		// Exactly one live Bench Co.
		var benchCos int
		if err := a.DB.NewRaw("SELECT count(*) FROM accounts WHERE name = 'Bench Co'").Scan(context.Background(), &benchCos); err != nil || benchCos != 1 {
			t.Errorf("accounts named Bench Co: %d, %v", benchCos, err)
		}
	})
}

// TestCrmbenchScenarios runs every scenario of cmd/crmbench briefly against
// the real app serving a small bench dataset over real HTTP: each one gets
// answers, and none is an error.
// TestSeedBenchParameters: --clients, --payments-per-client and --employees
// shape the dataset as DATASET.md's formulas say (E employees of Bench Co
// and its super admin, max(1, E/10) admins, P payments and 3 instalments a
// client), on both databases.
func TestSeedBenchParameters(t *testing.T) {
	dbURL := benchEnv(t)
	seed(t, "--clients", "120", "--payments-per-client", "2", "--employees", "20")
	a := benchApp{apptest.New(t, Modules(), apptest.WithDatabaseURL(dbURL))}
	admin := a.login("bench@example.com")
	for path, want := range map[string]int{"/api/employees/": 21, "/api/employees/?role=admin": 2, "/api/employees/?role=employee": 18,
		"/api/clients/": 120, "/api/payments/": 240, "/api/installments/": 360, "/api/client-packages/": 120} {
		u, _ := url.Parse(path)
		if got := a.count(admin, u.Path, u.Query()); got != want {
			t.Errorf("%s: %d, want %d", path, got, want)
		}
	}
	a.login("emp20@bench.example.com")
}

func TestCrmbenchScenarios(t *testing.T) {
	dbURL := benchEnv(t)
	seed(t, "--clients", "2000") // page 3 of active US clients exists from N = 2000
	a := apptest.New(t, Modules(), apptest.WithDatabaseURL(dbURL))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Server.Serve(ln) }()
	t.Cleanup(func() { _ = a.Server.App.Shutdown() })

	names := bench.ScenarioNames()
	results, err := bench.Run(context.Background(), bench.Options{
		URL: "http://" + ln.Addr().String(), Duration: 150 * time.Millisecond, Connections: 2,
		Scenarios: names, PID: os.Getpid(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(names) {
		t.Fatalf("%d results for %d scenarios", len(results), len(names))
	}
	var table bytes.Buffer
	bench.Markdown(&table, results)
	for _, r := range results {
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors (first: %s)", r.Scenario, r.Requests, r.Errors, r.FirstError)
		}
		if r.PeakRSS <= 0 {
			t.Errorf("%s: peak RSS not read", r.Scenario)
		}
		// What the report prints: a rate, two latencies, the server's CPU
		// per request (this process serves), one row per scenario.
		if srv, _, _ := r.CPUPerRequest(); r.Rate <= 0 || r.P50 <= 0 || r.P99 < r.P50 || srv <= 0 {
			t.Errorf("%s: %.0f req/s, p50 %v, p99 %v, server CPU %v per request", r.Scenario, r.Rate, r.P50, r.P99, srv)
		}
		if !strings.Contains(table.String(), "| "+r.Scenario+" | ") {
			t.Errorf("report has no row for %s:\n%s", r.Scenario, table.String())
		}
	}
	if !strings.HasPrefix(table.String(), "| scenario | req/s | p50 ms | p99 ms | errors | server CPU ms/req | server peak RSS MB |") {
		t.Errorf("report header:\n%s", table.String())
	}
	// create_client wrote into Other Co 1, not into Bench Co.
	var benchClients int
	if err := a.DB.NewRaw("SELECT count(*) FROM clients c JOIN accounts a ON a.id = c.account_id WHERE a.name = 'Bench Co'").
		Scan(context.Background(), &benchClients); err != nil || benchClients != 2000 {
		t.Errorf("Bench Co has %d clients after the run (%v), want 2000", benchClients, err)
	}
}
