package accounts

import (
	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

// Module is the accounts capability. It needs an OwnerCreator (cmd/crm
// binds the identity service), and gives Names to the identity module.
var Module = fx.Module("accounts",
	fx.Provide(NewService),
	fx.Supply(Names{}),
	httpx.AsRoutes(routes),
	boot.AsMigrations("accounts", migrations.For("accounts")),
)
