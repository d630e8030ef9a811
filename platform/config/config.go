// Package config holds the one configuration struct of the API, read from the
// environment. Every field has a default that runs with nothing set.
package config

import (
	"fmt"
	"os"
	"time"

	"github.com/caarlos0/env/v11"
)

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

// DefaultDBAppRole is the role the API serves as on PostgreSQL, created by
// the migrations (migrations/rls).
const DefaultDBAppRole = "crm_app"

// Load reads the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	// Unset is crm_app; set and empty is no role (envDefault cannot tell
	// the two apart).
	if _, set := os.LookupEnv("CRM_DB_APP_ROLE"); !set {
		c.DBAppRole = DefaultDBAppRole
	}
	return c, nil
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
