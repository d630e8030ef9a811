// Package metrics serves GET /metrics in the Prometheus text format: requests
// by route template, method and status, their latency, the database pool, the
// policy reloads, and whatever process-wide counters the modules register
// with the default Prometheus registry (login failures and lockouts).
//
// Each app has its own registry for what belongs to it (its requests, its
// pool), so several apps in one process (tests) never collide; counters that
// are process-wide by nature live in prometheus.DefaultRegisterer.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"crm/platform/authz"
	"crm/platform/config"
	"crm/platform/errs"
	"crm/platform/httpx"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// Path is where the metrics are served.
const Path = "/metrics"

// Module gives the server its request observer and the /metrics route.
var Module = fx.Module("metrics",
	fx.Provide(
		New,
		func(m *Metrics) httpx.Observer { return m.Observe },
		fx.Annotate(func(m *Metrics, cfg config.Config) func(*fiber.App) {
			return func(app *fiber.App) { app.Get(Path, m.Handler(cfg.MetricsToken)) }
		}, fx.ResultTags(`group:"http_setup"`)),
	),
)

// Policy reloads are counted by the authorizer for the whole process.
func init() {
	promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "crm_policy_reloads_total",
		Help: "Policy reloads that were applied (file change or SIGHUP).",
	}, func() float64 { return float64(authz.Reloads.Load()) })
	promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "crm_policy_reload_failures_total",
		Help: "Policy reloads refused because the new policy did not load; the old one stayed in force.",
	}, func() float64 { return float64(authz.ReloadFailures.Load()) })
}

// Metrics is one app's registry and its request collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	gatherer prometheus.Gatherer
}

// New builds the app's registry with the request metrics and the pool of d.
func New(d *bun.DB) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crm_http_request_duration_seconds",
			Help:    "Time from the request's arrival to its response, by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	// go_sql_open_connections, _in_use, _idle, _wait_count_total, … {db_name="crm"}
	reg.MustRegister(m.requests, m.latency, collectors.NewDBStatsCollector(d.DB, "crm"))
	m.gatherer = prometheus.Gatherers{prometheus.DefaultGatherer, reg}
	return m
}

// Observe counts one finished request (an httpx.Observer).
func (m *Metrics) Observe(route, method string, status int, elapsed time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// methodLabel maps the method to a constant string: Fiber's method string
// lives in a buffer the next request reuses, and a label value is kept for
// the life of the series. Other methods share one label.
func methodLabel(m string) string {
	for _, k := range methodLabels {
		if m == k {
			return k
		}
	}
	return "OTHER"
}

var methodLabels = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Registry is the app's own registry, for collectors of its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics. With a token, the caller must send
// "Authorization: Bearer <token>"; without one the metrics are public.
func (m *Metrics) Handler(token string) fiber.Handler {
	h := adaptor.HTTPHandler(promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	want := []byte("Bearer " + token)
	return func(c *fiber.Ctx) error {
		if token != "" && subtle.ConstantTimeCompare([]byte(c.Get(fiber.HeaderAuthorization)), want) != 1 {
			c.Set("WWW-Authenticate", `Bearer realm="metrics"`)
			return errs.Unauthenticated("Metrics need 'Authorization: Bearer <CRM_METRICS_TOKEN>'.")
		}
		return h(c)
	}
}
