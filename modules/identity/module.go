package identity

import (
	"context"
	"log/slog"

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
	fx.Invoke(startPrincipalCache),
	httpx.AsRoutes(routes),
	boot.AsMigrations("identity", migrations.For("identity")),
)

// startPrincipalCache runs the principal cache's change listener from the
// app's start to its stop, on PostgreSQL: the cache is on only while it is
// connected. On SQLite the cache stays off: the caller's lookup is a read of
// the embedded database, no round trip to save.
func startPrincipalCache(lc fx.Lifecycle, s *Service, cfg config.Config, log *slog.Logger) {
	if db.DialectOf(s.db) != db.Postgres {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() { defer close(done); s.listen(ctx, cfg.DatabaseURL, log) }()
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
	})
}
