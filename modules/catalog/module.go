package catalog

import (
	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

// Module is the catalog capability: packages and client packages. It needs a
// access.Clients (cmd/crm binds the clients service).
var Module = fx.Module("catalog",
	fx.Provide(NewService),
	httpx.AsRoutes(routes),
	boot.AsMigrations("catalog", migrations.For("catalog")),
)
