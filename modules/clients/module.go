package clients

import (
	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

// Module is the clients capability. Other modules (billing, catalog) reach
// it through the *Service (Readable, Exists), bound to their own interface
// in cmd/crm.
var Module = fx.Module("clients",
	fx.Provide(NewService),
	httpx.AsRoutes(routes),
	boot.AsMigrations("clients", migrations.For("clients")),
)
