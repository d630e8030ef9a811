package identity

import (
	"crm/migrations"
	"crm/platform/auth"
	"crm/platform/boot"
	"crm/platform/config"
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
	httpx.AsRoutes(routes),
	boot.AsMigrations("identity", migrations.For("identity")),
)
