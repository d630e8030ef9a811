package billing

import (
	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

// Module is the billing capability: payments, instalments and Stripe
// customers. It needs an access.Clients and ClientPackages (cmd/crm binds the
// clients and catalog services).
var Module = fx.Module("billing",
	fx.Provide(NewService),
	httpx.AsRoutes(routes),
	boot.AsMigrations("billing", migrations.For("billing")),
)
