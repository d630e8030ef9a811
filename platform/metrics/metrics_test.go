package metrics_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/config"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads GET /metrics as Prometheus would.
func scrape(t *testing.T, env *identitytest.Env, headers map[string]string) map[string]*dto.MetricFamily {
	t.Helper()
	r := apptest.Expect(t, env.Do(apptest.Request{Method: http.MethodGet, Path: "/metrics", Headers: headers}), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type = %q, want the Prometheus text format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(r.Body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, r.Body)
	}
	return families
}

// value finds the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func mustValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := value(t, fams, name, want)
	if !ok {
		t.Fatalf("/metrics has no %s%v", name, want)
	}
	return v
}

func TestMetricsCountRequestsByRouteTemplate(t *testing.T) {
	env := identitytest.New(t, nil)
	acc := env.Account("Metrics")
	for range 3 {
		apptest.Expect(t, env.Get(acc.Owner.Token, "/api/employees/"), http.StatusOK)
	}
	apptest.Expect(t, env.Get(acc.Owner.Token, "/api/employees/999999/"), http.StatusNotFound)
	apptest.Expect(t, env.Get(acc.Owner.Token, "/api/employees/"+itoa(acc.Owner.ID)+"/"), http.StatusOK)
	apptest.Expect(t, env.Get("", "/api/employees/"), http.StatusUnauthorized)
	apptest.Expect(t, env.Get("", "/no/such/path"), http.StatusNotFound)

	fams := scrape(t, env, nil)
	get := map[string]string{"method": "GET"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range get {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	if n := mustValue(t, fams, "crm_http_requests_total", with(map[string]string{"route": "/api/employees/", "status": "200"})); n != 3 {
		t.Errorf("GET /api/employees/ 200 counted %v times, want 3", n)
	}
	if n := mustValue(t, fams, "crm_http_requests_total", with(map[string]string{"route": "/api/employees/", "status": "401"})); n != 1 {
		t.Errorf("GET /api/employees/ 401 counted %v times, want 1", n)
	}
	// The template, not the path: one series for every id.
	if n := mustValue(t, fams, "crm_http_requests_total", with(map[string]string{"route": "/api/employees/:id/", "status": "404"})); n != 1 {
		t.Errorf("GET /api/employees/:id/ 404 counted %v times, want 1", n)
	}
	if n := mustValue(t, fams, "crm_http_requests_total", with(map[string]string{"route": "/api/employees/:id/", "status": "200"})); n != 1 {
		t.Errorf("GET /api/employees/:id/ 200 counted %v times, want 1", n)
	}
	if _, ok := value(t, fams, "crm_http_requests_total", with(map[string]string{"route": "/no/such/path"})); ok {
		t.Error("an unknown path became a route label: the series would grow without bound")
	}
	// Latency: a histogram per route and method.
	if n := mustValue(t, fams, "crm_http_request_duration_seconds", with(map[string]string{"route": "/api/employees/"})); n != 4 {
		t.Errorf("latency histogram of GET /api/employees/ has %v samples, want 4", n)
	}
	if fams["crm_http_request_duration_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Error("crm_http_request_duration_seconds is not a histogram")
	}
	// The database pool.
	if n := mustValue(t, fams, "go_sql_max_open_connections", map[string]string{"db_name": "crm"}); n != float64(env.Config.DBMaxOpenConns) {
		t.Errorf("go_sql_max_open_connections = %v, want %d", n, env.Config.DBMaxOpenConns)
	}
	for _, name := range []string{"go_sql_open_connections", "go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total"} {
		mustValue(t, fams, name, map[string]string{"db_name": "crm"})
	}
	if n := mustValue(t, fams, "go_sql_open_connections", map[string]string{"db_name": "crm"}); n < 1 {
		t.Errorf("go_sql_open_connections = %v after requests, want at least 1", n)
	}
}

func TestMetricsCountLoginFailuresAndLockouts(t *testing.T) {
	env := identitytest.New(t, nil)
	acc := env.Account("Lockout")
	before := scrape(t, env, nil)
	failures0 := mustValue(t, before, "crm_login_failures_total", nil)
	lockouts0 := mustValue(t, before, "crm_login_lockouts_total", nil)

	// The 11th failure for one email within the window is refused with 429.
	for i := range 11 {
		r := env.Post("", "/api/auth/login/", map[string]string{"email": acc.Owner.Email, "password": "wrong-password-" + itoa(int64(i))})
		want := http.StatusUnauthorized
		if i == 10 {
			want = http.StatusTooManyRequests
		}
		apptest.Expect(t, r, want)
	}
	after := scrape(t, env, nil)
	// Other tests of the package may log in at the same time: at least.
	if d := mustValue(t, after, "crm_login_failures_total", nil) - failures0; d < 10 {
		t.Errorf("crm_login_failures_total rose by %v, want at least 10", d)
	}
	if d := mustValue(t, after, "crm_login_lockouts_total", nil) - lockouts0; d < 1 {
		t.Errorf("crm_login_lockouts_total rose by %v, want at least 1", d)
	}
	if n := mustValue(t, after, "crm_http_requests_total", map[string]string{"route": "/api/auth/login/", "method": "POST", "status": "429"}); n != 1 {
		t.Errorf("POST /api/auth/login/ 429 counted %v times, want 1", n)
	}
}

func TestMetricsCountPolicyReloads(t *testing.T) {
	dir := apptest.CopyPolicies(t)
	env := identitytest.New(t, nil, apptest.WithPolicyDir(dir))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := env.Authz.Watch(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, env, nil)
	reloads0 := mustValue(t, fams, "crm_policy_reloads_total", nil)
	failures0 := mustValue(t, fams, "crm_policy_reload_failures_total", nil)

	file := filepath.Join(dir, "identity.csv")
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// A valid edit is applied; a policy that does not parse is refused.
	write(t, file, string(good)+"\n# edited by the metrics test\n")
	waitFor(t, env, "crm_policy_reloads_total", reloads0+1)
	write(t, file, string(good)+"\np, this line, is broken\n")
	waitFor(t, env, "crm_policy_reload_failures_total", failures0+1)
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, env *identitytest.Env, name string, atLeast float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := mustValue(t, scrape(t, env, nil), name, nil)
		if v >= atLeast {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want at least %v", name, v, atLeast)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMetricsToken(t *testing.T) {
	const token = "metrics-scraper-token-0123456789"
	env := identitytest.New(t, nil, func(c *config.Config) { c.MetricsToken = token })
	r := apptest.Expect(t, env.Get("", "/metrics"), http.StatusUnauthorized)
	if !strings.Contains(string(r.Body), `"detail"`) || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without the token should be the JSON error with WWW-Authenticate: %s %v", r.Body, r.Header)
	}
	apptest.Expect(t, env.Get("not-the-token", "/metrics"), http.StatusUnauthorized)
	// An employee's token is not the metrics token.
	acc := env.Account("Scraped")
	apptest.Expect(t, env.Get(acc.Owner.Token, "/metrics"), http.StatusUnauthorized)
	scrape(t, env, map[string]string{"Authorization": "Bearer " + token})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
