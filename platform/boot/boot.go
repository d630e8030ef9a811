// Package boot is the platform's Fx module: it builds the configuration, the
// logger, the database, the policy, the token signer and the HTTP server from
// what the modules contribute, and runs them for the life of the process.
package boot

import (
	"cmp"
	"context"
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
	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// Version is the binary's version, set by cmd/crm.
type Version string

// Module provides the platform. The caller supplies config.Config and
// Version (fx.Supply) and lists the business modules beside it.
var Module = fx.Module("platform",
	fx.Provide(
		NewLogger,
		OpenDB,
		NewAuthorizer,
		NewSigner,
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

// Serve starts the HTTP server (and the policy watcher) with the app, once
// the database's topology is known and servable.
var Serve = fx.Invoke(func(in serveIn) {
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
			return s.Shutdown(stop)
		},
	})
})

// Topology is what OpenDB found behind the database settings, as the
// attributes of the line serve prints.
type Topology []any

// inspect tells what answers at the PostgreSQL URLs: for the API's and the
// owner's, the login role and whether a pooler answers. A pooler in
// statement mode, which cannot keep a transaction together, is refused
// before anything runs through it.
func inspect(ctx context.Context, cfg config.Config, ownerURL string) (Topology, error) {
	if DatabaseKind(cfg.DatabaseURL) == "sqlite" {
		return Topology{"database", "sqlite", "file", db.SQLitePath(cfg.DatabaseURL)}, nil
	}
	top := Topology{"database", "postgres"}
	seen := map[string]db.Topology{}
	for _, u := range []struct{ setting, url string }{{"CRM_DATABASE_URL", cfg.DatabaseURL}, {"CRM_DB_OWNER_URL", ownerURL}} {
		t, ok := seen[u.url]
		if !ok {
			var err error
			t, err = db.Inspect(ctx, u.url)
			if errors.Is(err, db.ErrStatementPooling) {
				return nil, fmt.Errorf("%s reaches a pooler in statement mode, which cannot keep a transaction on one connection: set its pool_mode to transaction (or session)", u.setting)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", u.setting, err)
			}
			seen[u.url] = t
		}
		top = append(top, slog.Group(strings.ToLower(strings.TrimPrefix(u.setting, "CRM_")), "login", t.Login, "pooled", t.Pooled))
	}
	return append(top, "serving_role", cmp.Or(cfg.DBAppRole, "the login role (CRM_DB_APP_ROLE is empty: no row-level security)")), nil
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
	top, err := inspect(context.Background(), in.Config, ownerURL)
	if err != nil {
		return nil, db.Owner{}, nil, err
	}
	opts := db.Options{MaxOpenConns: in.Config.DBMaxOpenConns, Role: in.Config.DBAppRole, RandomPageCost: in.Config.DBRandomPageCost}
	d, err := db.Open(in.Config.DatabaseURL, opts)
	if err != nil {
		return nil, db.Owner{}, nil, err
	}
	in.LC.Append(fx.StopHook(func() error { return d.Close() }))
	owner := db.Owner{DB: d}
	if db.DialectOf(d) == db.Postgres && (opts.Role != "" || ownerURL != in.Config.DatabaseURL) {
		// The owner's work is small (login, the webhook worker, the
		// overdue scan): a quarter of the pool.
		o, err := db.Open(ownerURL, db.Options{MaxOpenConns: max(2, opts.MaxOpenConns/4), Owner: true})
		if err != nil {
			_ = d.Close()
			return nil, db.Owner{}, nil, err
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

// AsMigrations adds a module's migrations to the timeline.
func AsMigrations(module string, fsys fs.FS) fx.Option {
	return fx.Provide(fx.Annotate(func() db.Migrations { return db.Migrations{Module: module, FS: fsys} }, fx.ResultTags(`group:"migrations"`)))
}

// NewAuthorizer loads the policy (embedded, or CRM_POLICY_DIR).
func NewAuthorizer(cfg config.Config) (*authz.Authorizer, error) {
	a, err := authz.New(policies.FS, cfg.PolicyDir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
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
			return nil, fmt.Errorf("CRM_JWT_SECRET must be set (at least 32 characters) when the database is not a SQLite file")
		}
		s, created, err := auth.SecretBeside(filepath.Dir(path))
		if err != nil {
			return nil, fmt.Errorf("jwt secret: %w", err)
		}
		secret = s
		log.Warn("CRM_JWT_SECRET is not set: using the secret kept beside the SQLite data; set CRM_JWT_SECRET in production",
			"file", filepath.Join(filepath.Dir(path), "jwt-secret"), "created", created)
	}
	return auth.NewSigner(secret, cfg.JWTPreviousSecrets, cfg.TokenTTL)
}

type serverIn struct {
	fx.In
	Config  config.Config
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
	c, err := httpx.CORS(in.Config.CORSOrigins, in.Config.CORSCredentials)
	if err != nil {
		return nil, err
	}
	if c != nil {
		setup = append([]func(*fiber.App){func(app *fiber.App) { app.Use(c) }}, setup...)
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
