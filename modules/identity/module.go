package identity

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"crm/migrations"
	"crm/platform/auth"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

// Module is the identity capability: employees, sessions, login. It gives
// the platform its auth.Authenticator.
var Module = fx.Module("identity",
	fx.Provide(
		func(cfg config.Config) *Hasher { return NewHasher(cfg.Argon2MemoryKiB, cfg.Argon2Time) },
		NewService,
		func(s *Service) auth.Authenticator { return s },
	),
	boot.AsWorker(principalCacheListener),
	fx.Provide(fx.Annotate(func(s *Service) boot.Fact {
		if !db.Listens(s.db) {
			return boot.Fact{Name: "principal_cache", Value: func() string { return "not used on SQLite" }}
		}
		return boot.Fact{Name: "principal_cache", Value: s.principals.state}
	}, fx.ResultTags(`group:"facts"`))),
	httpx.AsRoutes(routes),
	boot.AsMigrations("identity", migrations.For("identity")),
)

// principalCacheListener runs the principal cache's change listener while
// the server runs (the commands, which serve nothing, never build it), on
// PostgreSQL: the cache is on only while announcements arrive. It listens
// on CRM_DB_LISTEN_URL, else the owner's URL: LISTEN needs a session of its
// own, which a transaction pooler does not give. The start waits for the listener's first answer (bounded by its
// probe), so the cache's state is known when the server says it serves. On
// SQLite the cache stays off: the caller's lookup is a read of the embedded
// database, no round trip to save.
func principalCacheListener(s *Service, cfg config.Config, log *slog.Logger) fx.Hook {
	if !db.Listens(s.db) {
		return fx.Hook{}
	}
	url := cmp.Or(cfg.DBListenURL, cfg.DBOwnerURL, cfg.DatabaseURL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return fx.Hook{
		OnStart: func(start context.Context) error {
			first := make(chan bool, 1)
			go func() { defer close(done); s.listen(ctx, url, log, first) }()
			select {
			case <-first:
			case <-start.Done():
			case <-time.After(15 * time.Second):
			}
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			select {
			case <-done:
			case <-stop.Done():
			}
			return nil
		},
	}
}
