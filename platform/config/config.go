// Package config holds the one configuration struct of the API, read from the
// environment. Every field has a default that runs with nothing set.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Error is a setting the binary cannot run with: crm prints it as one line,
// the setting, what is wrong with it and how to fix it, and exits 2. Every
// package that finds a setting wrong (a missing secret, a policy folder
// that does not load, an origin that is not one) returns one.
type Error struct {
	Setting string // the environment variable, e.g. CRM_JWT_SECRET
	Problem string // what is wrong and the fix, e.g. "is not set: set it to …"
}

// Error is one line, whatever the problem quotes.
func (e *Error) Error() string {
	return e.Setting + " " + strings.Join(strings.Fields(e.Problem), " ")
}

// Config is every setting the binary reads. The README lists them; a test
// checks that docker-compose.yml names only these.
type Config struct {
	HTTPAddr    string `env:"CRM_HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	DatabaseURL string `env:"CRM_DATABASE_URL" envDefault:"sqlite:data/crm.db"`
	AutoMigrate bool   `env:"CRM_AUTO_MIGRATE" envDefault:"true"`
	// JWTSecret signs new tokens. Empty: a random secret is generated once
	// and kept beside the SQLite data (with a warning).
	JWTSecret string `env:"CRM_JWT_SECRET"`
	// JWTPreviousSecrets still verify tokens signed before a rotation.
	JWTPreviousSecrets []string      `env:"CRM_JWT_PREVIOUS_SECRETS" envSeparator:","`
	TokenTTL           time.Duration `env:"CRM_TOKEN_TTL" envDefault:"24h"`
	// PolicyDir overrides the policy files embedded in the binary.
	PolicyDir       string        `env:"CRM_POLICY_DIR"`
	ShutdownTimeout time.Duration `env:"CRM_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	LogLevel        string        `env:"CRM_LOG_LEVEL" envDefault:"info"`
	// Argon2MemoryKiB and Argon2Time tune the password hash (argon2id).
	Argon2MemoryKiB uint32 `env:"CRM_ARGON2_MEMORY_KIB" envDefault:"19456"`
	Argon2Time      uint32 `env:"CRM_ARGON2_TIME" envDefault:"2"`
	// DBMaxOpenConns bounds the connection pool.
	DBMaxOpenConns int `env:"CRM_DB_MAX_OPEN_CONNS" envDefault:"16"`
	// DBAppRole is the PostgreSQL role the API's connections take (SET ROLE)
	// to serve: it does not own the tables and answers to row-level security
	// (docs/security.md). crm migrate creates crm_app; set it empty
	// (CRM_DB_APP_ROLE=) to serve as the role of the URL, without the
	// guard. The commands other than serve always run as the URL's role.
	DBAppRole string `env:"CRM_DB_APP_ROLE"`
	// DBOwnerURL is the connection of the tables' owner (migrations, the
	// commands other than serve, the few paths that cross accounts): empty,
	// CRM_DATABASE_URL. Set it when CRM_DATABASE_URL logs in as a role that
	// is not the owner (docs/security.md: a separate login role).
	DBOwnerURL string `env:"CRM_DB_OWNER_URL"`
	// DBListenURL is the connection the principal cache listens on (LISTEN
	// needs a session of its own, which a transaction pooler does not
	// give): empty, CRM_DB_OWNER_URL, else CRM_DATABASE_URL. Point it at the
	// database directly when the others go through a pooler.
	DBListenURL string `env:"CRM_DB_LISTEN_URL"`
	// DBRandomPageCost is the planner's random_page_cost on the API's
	// PostgreSQL connections: 1.1, as for data in memory or on SSD, rather
	// than PostgreSQL's 4 (spinning disks), under which the filtered lists'
	// counts turned into sequential scans (docs/benchmarks.md). "server"
	// keeps the server's setting.
	DBRandomPageCost string `env:"CRM_DB_RANDOM_PAGE_COST" envDefault:"1.1"`
	// DBTimeout bounds every database call of a request, so a lost database
	// answers 503 quickly instead of hanging.
	DBTimeout time.Duration `env:"CRM_DB_TIMEOUT" envDefault:"5s"`
	// TrustProxy makes the client address come from X-Forwarded-For.
	TrustProxy bool `env:"CRM_TRUST_PROXY" envDefault:"false"`
	// CORSOrigins is the allow-list of browser origins (none by default).
	CORSOrigins     []string `env:"CRM_CORS_ORIGINS" envSeparator:","`
	CORSCredentials bool     `env:"CRM_CORS_CREDENTIALS" envDefault:"false"`
	// MetricsToken, when set, is the bearer token GET /metrics requires;
	// empty: /metrics is public (keep it off the public internet).
	MetricsToken string `env:"CRM_METRICS_TOKEN"`
	// PprofAddr, when set, serves net/http/pprof on its own listener
	// (a loopback address only: profiling, never for the internet).
	PprofAddr string `env:"CRM_PPROF_ADDR"`

	// Webhooks out (modules/webhooks, docs/webhooks.md).
	// WebhooksAllowPrivate lets endpoint URLs reach loopback, private,
	// link-local and metadata addresses (off: refused at registration and at
	// delivery).
	WebhooksAllowPrivate bool `env:"CRM_WEBHOOKS_ALLOW_PRIVATE" envDefault:"false"`
	// WebhooksDelivery runs the delivery worker in `crm serve`.
	WebhooksDelivery bool `env:"CRM_WEBHOOKS_DELIVERY" envDefault:"true"`
	// WebhooksPollInterval is how often the worker looks for due deliveries.
	WebhooksPollInterval time.Duration `env:"CRM_WEBHOOKS_POLL_INTERVAL" envDefault:"1s"`
	// WebhooksRetryBase is the first retry delay; it doubles (with jitter)
	// up to WebhooksRetryMax, for WebhooksRetryFor, then the delivery fails.
	WebhooksRetryBase time.Duration `env:"CRM_WEBHOOKS_RETRY_BASE" envDefault:"30s"`
	WebhooksRetryMax  time.Duration `env:"CRM_WEBHOOKS_RETRY_MAX" envDefault:"1h"`
	WebhooksRetryFor  time.Duration `env:"CRM_WEBHOOKS_RETRY_FOR" envDefault:"24h"`
	// WebhooksTimeout bounds one delivery attempt.
	WebhooksTimeout time.Duration `env:"CRM_WEBHOOKS_TIMEOUT" envDefault:"10s"`
	// WebhooksOverdueScan is how often open instalments past their date are
	// looked for (instalment.overdue, once per instalment); 0 turns it off.
	WebhooksOverdueScan time.Duration `env:"CRM_WEBHOOKS_OVERDUE_SCAN" envDefault:"15m"`

	// StripeWebhookTolerance is how old a Stripe signature's timestamp may be.
	StripeWebhookTolerance time.Duration `env:"CRM_STRIPE_WEBHOOK_TOLERANCE" envDefault:"5m"`
}

// RandomPageCost is CRM_DB_RANDOM_PAGE_COST as a number, 0 for the
// server's own ("server" or empty; Load refuses anything else that is not
// a number above 0).
func (c Config) RandomPageCost() float64 {
	f, err := strconv.ParseFloat(c.DBRandomPageCost, 64)
	if err != nil {
		return 0
	}
	return f
}

// DefaultDBAppRole is the role the API serves as on PostgreSQL, created by
// the migrations (migrations/rls).
const DefaultDBAppRole = "crm_app"

// Load reads the environment and checks the form of every setting, so a
// malformed one stops any command before it does anything. What a setting
// needs beyond its form (the secret serving on PostgreSQL, a policy folder
// that loads) is checked where it is used.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, parseError(err)
	}
	// Unset is crm_app; set and empty is no role (envDefault cannot tell
	// the two apart).
	if _, set := os.LookupEnv("CRM_DB_APP_ROLE"); !set {
		c.DBAppRole = DefaultDBAppRole
	}
	return c, c.check()
}

// parseError names the setting env could not parse and the form it takes.
func parseError(err error) error {
	var pe env.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("config: %w", err)
	}
	key := pe.Name
	if f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name); ok {
		key = f.Tag.Get("env")
	}
	form := "a value of type " + pe.Type.String()
	switch pe.Type {
	case reflect.TypeFor[time.Duration]():
		form = "a duration: write it like 500ms, 30s, 15m or 24h"
	case reflect.TypeFor[bool]():
		form = "true or false"
	case reflect.TypeFor[int](), reflect.TypeFor[uint32]():
		form = "a whole number"
	}
	return &Error{Setting: key, Problem: fmt.Sprintf("is %q, which is not %s", os.Getenv(key), form)}
}

// check refuses settings of the right type but a form nothing can use.
func (c Config) check() error {
	var level slog.Level
	if level.UnmarshalText([]byte(c.LogLevel)) != nil {
		return &Error{"CRM_LOG_LEVEL", fmt.Sprintf("is %q: write debug, info, warn or error", c.LogLevel)}
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return &Error{"CRM_HTTP_ADDR", fmt.Sprintf("is %q, not an address: write host:port, like 127.0.0.1:8080 or :8080", c.HTTPAddr)}
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return &Error{"CRM_PPROF_ADDR", fmt.Sprintf("is %q: write a loopback address with a port, like 127.0.0.1:6060 (pprof is never for the network), or leave it unset", c.PprofAddr)}
		}
	}
	for _, u := range []struct{ name, url string }{{"CRM_DATABASE_URL", c.DatabaseURL}, {"CRM_DB_OWNER_URL", c.DBOwnerURL}, {"CRM_DB_LISTEN_URL", c.DBListenURL}} {
		if u.url != "" && !strings.HasPrefix(u.url, "sqlite:") && !strings.HasPrefix(u.url, "postgres://") && !strings.HasPrefix(u.url, "postgresql://") {
			return &Error{u.name, "must start with sqlite: (sqlite:data/crm.db) or postgres:// (postgres://user:password@host:5432/dbname)"}
		}
	}
	if v := c.DBRandomPageCost; v != "" && v != "server" {
		if f := c.RandomPageCost(); f <= 0 || f > 1000 {
			return &Error{"CRM_DB_RANDOM_PAGE_COST", fmt.Sprintf("is %q: write a number above 0 (1.1 for data in memory or on SSD, 4 for spinning disks) or server", v)}
		}
	}
	if c.TokenTTL <= 0 {
		return &Error{"CRM_TOKEN_TTL", fmt.Sprintf("is %s: write a duration above 0, like 24h", c.TokenTTL)}
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"CRM_SHUTDOWN_TIMEOUT", c.ShutdownTimeout}, {"CRM_DB_TIMEOUT", c.DBTimeout},
		{"CRM_WEBHOOKS_POLL_INTERVAL", c.WebhooksPollInterval}, {"CRM_WEBHOOKS_RETRY_BASE", c.WebhooksRetryBase},
		{"CRM_WEBHOOKS_RETRY_MAX", c.WebhooksRetryMax}, {"CRM_WEBHOOKS_RETRY_FOR", c.WebhooksRetryFor},
		{"CRM_WEBHOOKS_TIMEOUT", c.WebhooksTimeout}, {"CRM_WEBHOOKS_OVERDUE_SCAN", c.WebhooksOverdueScan},
		{"CRM_STRIPE_WEBHOOK_TOLERANCE", c.StripeWebhookTolerance},
	} {
		if d.d < 0 {
			return &Error{d.name, fmt.Sprintf("is %s: a duration cannot be negative", d.d)}
		}
	}
	if c.Argon2Time < 1 {
		return &Error{"CRM_ARGON2_TIME", "is 0: write 1 or more passes (2 by default)"}
	}
	if c.Argon2MemoryKiB < 8 {
		return &Error{"CRM_ARGON2_MEMORY_KIB", fmt.Sprintf("is %d: write 8 or more KiB (19456 by default, OWASP's minimum)", c.Argon2MemoryKiB)}
	}
	return nil
}

// Defaults is the configuration of an empty environment, whatever the
// process's environment holds: tests start from it, so a variable left in a
// developer's shell (CRM_DB_APP_ROLE= turns row-level security off) cannot
// change what they prove.
func Defaults() Config {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: map[string]string{}}); err != nil {
		panic(fmt.Sprintf("config: the defaults do not parse: %v", err))
	}
	c.DBAppRole = DefaultDBAppRole
	return c
}

// Names lists every environment variable the binary reads.
func Names() []string {
	params, _ := env.GetFieldParams(&Config{})
	names := make([]string, 0, len(params))
	for _, p := range params {
		names = append(names, p.Key)
	}
	return names
}
