// Package boot is the platform's Fx module: it builds the logger, the
// database, the policy, the token signer and the HTTP server from the
// configuration and what the modules contribute, and runs them (and the
// modules' workers) for the life of `crm serve`.
package boot

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"crm/migrations"
	"crm/platform/apidocs"
	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/httpx"
	"crm/platform/journal"
	"crm/platform/metrics"
	"crm/policies"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// Version is the binary's version, set by cmd/crm.
type Version string

// Module provides the platform. The caller supplies config.Config and
// Version (fx.Supply), lists the business modules beside it, and adds
// Serve (crm serve) or Command (the other commands): Fx builds only what
// a command asks for, so a command that opens no HTTP server needs none of
// its settings.
var Module = fx.Module("platform",
	fx.Provide(
		NewLogger,
		OpenDB,
		NewAuthorizer,
		newCORS,
		NewServer,
		journal.New,
	),
	// The platform's own tables (idempotency keys).
	AsMigrations("platform", migrations.For("platform")),
	// Row-level security on every tenant table (PostgreSQL).
	AsMigrations("rls", migrations.For("rls")),
	metrics.Module,
	apidocs.Module,
)

// Fact is something a module tells about how it found the deployment, for
// the topology line serve prints once everything has started (e.g. whether
// the principal cache's listener hears its announcements).
type Fact struct {
	Name  string
	Value func() string
}

type serveIn struct {
	fx.In
	LC       fx.Lifecycle
	Server   *httpx.Server
	Authz    *authz.Authorizer
	Config   config.Config
	Log      *slog.Logger
	V        Version
	Topology Topology
	Facts    []Fact `group:"facts"`
}

// Serve is what `crm serve` adds to Module: the signing keys of the
// configuration, the modules' workers and the HTTP server (and the policy
// watcher), run from the app's start to its stop.
var Serve = fx.Options(
	fx.Provide(NewSigner),
	// The settings are checked before the database is opened (and
	// migrated): a bad secret, policy folder or origin touches nothing.
	fx.Invoke(func(*auth.Signer, *authz.Authorizer, corsSetup) {}),
	Workers,
	fx.Invoke(startServer),
)

// Command is what a command other than serve adds to Module. Its tokens
// (crm seed demo signs in through the API, in process) never leave the
// process: a random key of its own signs them, and CRM_JWT_SECRET is not
// read.
var Command = fx.Provide(func(cfg config.Config) (*auth.Signer, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	return auth.NewSigner(hex.EncodeToString(raw), nil, cfg.TokenTTL)
})

// AsWorker adds a module's background work (a listener, a delivery loop):
// constructor returns the fx.Hook that starts and stops it. Serve runs the
// workers for the life of the server; the other commands never build them.
func AsWorker(constructor any) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.ResultTags(`group:"workers"`)))
}

// Workers runs the modules' workers (AsWorker) from the app's start to its
// stop, before the HTTP server starts and after it stops.
var Workers = fx.Invoke(fx.Annotate(func(lc fx.Lifecycle, hooks []fx.Hook) {
	for _, h := range hooks {
		lc.Append(h)
	}
}, fx.ParamTags(``, `group:"workers"`)))

// startServer starts the HTTP server (and the policy watcher) with the
// app, once the database's topology is known and servable.
func startServer(in serveIn) {
	s, a, cfg, log := in.Server, in.Authz, in.Config, in.Log
	ctx, cancel := context.WithCancel(context.Background())
	in.LC.Append(fx.Hook{
		OnStart: func(start context.Context) error {
			top := append([]any{}, in.Topology...)
			for _, f := range in.Facts {
				top = append(top, f.Name, f.Value())
			}
			log.Info("crm topology", top...)
			if err := a.Watch(ctx, log); err != nil {
				log.Warn("policy watcher not started", "error", err.Error())
			}
			if err := s.Start(cfg.HTTPAddr); err != nil {
				return err
			}
			if cfg.PprofAddr != "" {
				if err := httpx.ServePprof(ctx, cfg.PprofAddr, log); err != nil {
					return err
				}
			}
			log.Info("crm serving", "addr", cfg.HTTPAddr, "version", string(in.V), "database", db.DialectOf(s.DB()), "policy_dir", a.Dir())
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			log.Info("shutting down: finishing requests in flight", "grace", cfg.ShutdownTimeout.String())
			// Requests in flight get the grace period, not a moment more; Fx
			// allows a second beyond it (cmd/crm) to close the database.
			stop, done := context.WithTimeout(stop, cfg.ShutdownTimeout)
			defer done()
			if err := s.Shutdown(stop); err != nil {
				return fmt.Errorf("requests still running when CRM_SHUTDOWN_TIMEOUT (%s) ran out were cut: %w", cfg.ShutdownTimeout, err)
			}
			return nil
		},
	})
}

// Topology is what OpenDB found behind the database settings, as the
// attributes of the line serve prints.
type Topology []any

// inspect tells what answers at the PostgreSQL URLs: for the API's and the
// owner's, the login role and whether a pooler answers. A pooler in
// statement mode, which cannot keep a transaction together, is refused
// before anything runs through it.
func inspect(ctx context.Context, cfg config.Config, ownerURL string) (Topology, map[string]bool, error) {
	if DatabaseKind(cfg.DatabaseURL) == "sqlite" {
		return Topology{"database", "sqlite", "file", db.SQLitePath(cfg.DatabaseURL)}, nil, nil
	}
	top := Topology{"database", "postgres"}
	seen := map[string]db.Topology{}
	pooled := map[string]bool{}
	for _, u := range []struct{ setting, url string }{{"CRM_DATABASE_URL", cfg.DatabaseURL}, {"CRM_DB_OWNER_URL", ownerURL}} {
		t, ok := seen[u.url]
		if !ok {
			// A URL of the wrong form is refused before anything is sent.
			if _, err := pgx.ParseConfig(u.url); err != nil {
				return nil, nil, urlError(cfg, u.url, err)
			}
			var err error
			t, err = db.Inspect(ctx, u.url)
			if errors.Is(err, db.ErrStatementPooling) {
				return nil, nil, &config.Error{Setting: u.setting, Problem: "reaches a pooler in statement mode, which cannot keep a transaction on one connection: set its pool_mode to transaction (or session)"}
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", u.setting, err)
			}
			seen[u.url], pooled[u.url] = t, t.Pooled
		}
		top = append(top, slog.Group(strings.ToLower(strings.TrimPrefix(u.setting, "CRM_")), "login", t.Login, "pooled", t.Pooled))
	}
	return append(top, "serving_role", cmp.Or(cfg.DBAppRole, "the login role (CRM_DB_APP_ROLE is empty: no row-level security)")), pooled, nil
}

// NewLogger is a JSON slog logger on stderr.
func NewLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

type dbIn struct {
	fx.In
	Config     config.Config
	Log        *slog.Logger
	Migrations []db.Migrations `group:"migrations"`
	LC         fx.Lifecycle
}

// OpenDB opens the database and, unless turned off, migrates it. On
// PostgreSQL it opens two pools: the API's, whose transactions and
// statements run as the app role (CRM_DB_APP_ROLE, crm_app by default) and
// so answer to row-level security, and the Owner's (CRM_DB_OWNER_URL, else
// the same URL without the role), for migrations and the few paths that
// cross accounts (db.Owner). With neither a role nor an owner URL, one pool
// is both. Neither keeps session state, so either URL may be a transaction
// pooler.
func OpenDB(in dbIn) (*bun.DB, db.Owner, Topology, error) {
	ownerURL := cmp.Or(in.Config.DBOwnerURL, in.Config.DatabaseURL)
	top, pooled, err := inspect(context.Background(), in.Config, ownerURL)
	if err != nil {
		return nil, db.Owner{}, nil, err
	}
	opts := db.Options{MaxOpenConns: in.Config.DBMaxOpenConns, Role: in.Config.DBAppRole, RandomPageCost: in.Config.RandomPageCost(),
		Pooled: pooled[in.Config.DatabaseURL]}
	d, err := db.Open(in.Config.DatabaseURL, opts)
	if err != nil {
		return nil, db.Owner{}, nil, urlError(in.Config, in.Config.DatabaseURL, err)
	}
	in.LC.Append(fx.StopHook(func() error { return d.Close() }))
	owner := db.Owner{DB: d}
	if db.DialectOf(d) == db.Postgres && (opts.Role != "" || ownerURL != in.Config.DatabaseURL) {
		// The owner's work is small (login, the webhook worker, the
		// overdue scan): a quarter of the pool.
		o, err := db.Open(ownerURL, db.Options{MaxOpenConns: max(2, opts.MaxOpenConns/4), Owner: true, Pooled: pooled[ownerURL]})
		if err != nil {
			_ = d.Close()
			return nil, db.Owner{}, nil, urlError(in.Config, ownerURL, err)
		}
		in.LC.Append(fx.StopHook(func() error { return o.Close() }))
		owner = db.Owner{DB: o}
	}
	if in.Config.AutoMigrate || db.DialectOf(d) == db.SQLite {
		if err := db.Migrate(context.Background(), owner.DB, in.Migrations, in.Log); err != nil {
			return nil, db.Owner{}, nil, err
		}
	}
	return d, owner, top, nil
}

// urlError is the configuration error of a database URL db.Open refused
// (it connects to nothing: its errors are all the URL's form or path).
func urlError(cfg config.Config, url string, err error) error {
	setting := "CRM_DATABASE_URL"
	if url == cfg.DBOwnerURL {
		setting = "CRM_DB_OWNER_URL"
	}
	return &config.Error{Setting: setting, Problem: "cannot be opened: " + strings.TrimPrefix(err.Error(), "db: ") +
		": write sqlite:PATH (a writable folder) or postgres://user:password@host:5432/dbname"}
}

// AsMigrations adds a module's migrations to the timeline.
func AsMigrations(module string, fsys fs.FS) fx.Option {
	return fx.Provide(fx.Annotate(func() db.Migrations { return db.Migrations{Module: module, FS: fsys} }, fx.ResultTags(`group:"migrations"`)))
}

// NewAuthorizer loads the policy (embedded, or CRM_POLICY_DIR).
func NewAuthorizer(cfg config.Config) (*authz.Authorizer, error) {
	a, err := authz.New(policies.FS, cfg.PolicyDir)
	if err != nil && cfg.PolicyDir != "" {
		return nil, &config.Error{Setting: "CRM_POLICY_DIR", Problem: fmt.Sprintf("%q does not load: %v: fix it (crm policy check %s) or unset CRM_POLICY_DIR for the embedded policy", cfg.PolicyDir, err, cfg.PolicyDir)}
	}
	if err != nil {
		return nil, fmt.Errorf("embedded policy: %w", err)
	}
	return a, nil
}

// NewSigner builds the token signer. Without CRM_JWT_SECRET on SQLite, a
// random secret is generated once and kept beside the data file.
func NewSigner(cfg config.Config, log *slog.Logger) (*auth.Signer, error) {
	secret := cfg.JWTSecret
	if secret == "" {
		path := db.SQLitePath(cfg.DatabaseURL)
		if path == "" || path == ":memory:" {
			return nil, &config.Error{Setting: "CRM_JWT_SECRET", Problem: "is not set: serving on PostgreSQL needs it; set it to a random string of 32 characters or more (openssl rand -hex 32), the same on every instance"}
		}
		s, created, err := auth.SecretBeside(filepath.Dir(path))
		if err != nil {
			return nil, &config.Error{Setting: "CRM_JWT_SECRET", Problem: fmt.Sprintf("is not set, and the secret kept beside the SQLite data cannot be: %v; set CRM_JWT_SECRET or make the folder writable", err)}
		}
		secret = s
		log.Warn("CRM_JWT_SECRET is not set: using the secret kept beside the SQLite data; set CRM_JWT_SECRET in production",
			"file", filepath.Join(filepath.Dir(path), "jwt-secret"), "created", created)
	}
	return auth.NewSigner(secret, cfg.JWTPreviousSecrets, cfg.TokenTTL)
}

// corsSetup puts the CORS middleware on the app; nil without origins.
type corsSetup func(*fiber.App)

func newCORS(cfg config.Config) (corsSetup, error) {
	c, err := httpx.CORS(cfg.CORSOrigins, cfg.CORSCredentials)
	if err != nil || c == nil {
		return nil, err
	}
	return func(app *fiber.App) { app.Use(c) }, nil
}

type serverIn struct {
	fx.In
	Config  config.Config
	CORS    corsSetup
	Log     *slog.Logger
	DB      *bun.DB
	Authz   *authz.Authorizer
	Signer  *auth.Signer
	Authn   auth.Authenticator
	Routes  []httpx.Route      `group:"routes"`
	Setup   []func(*fiber.App) `group:"http_setup"`
	Observe httpx.Observer     `optional:"true"`
}

// NewServer builds the HTTP server with every module's routes.
func NewServer(in serverIn) (*httpx.Server, error) {
	setup := in.Setup
	// CORS first, so it answers preflights and marks every response.
	if in.CORS != nil {
		setup = append([]func(*fiber.App){in.CORS}, setup...)
	}
	return httpx.New(httpx.Options{
		Log: in.Log, DB: in.DB, Authz: in.Authz, Signer: in.Signer, Authn: in.Authn,
		Routes: in.Routes, TrustProxy: in.Config.TrustProxy,
		DBTimeout: in.Config.DBTimeout, Observe: in.Observe, Setup: setup,
	})
}

// DatabaseKind names the database of a URL, for messages.
func DatabaseKind(url string) string {
	if strings.HasPrefix(url, "postgres") {
		return "postgres"
	}
	return "sqlite"
}
