package accounts

import (
	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

// Module is the accounts capability.
var Module = fx.Module("accounts",
	fx.Provide(NewService),
	httpx.AsRoutes(routes),
	boot.AsMigrations("accounts", migrations.For("accounts")),
)
