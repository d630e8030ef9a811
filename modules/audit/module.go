package audit

import (
	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/httpx"
	"crm/platform/journal"

	"go.uber.org/fx"
)

// Module is the audit log: a journal sink and the read-only API over it.
var Module = fx.Module("audit",
	fx.Provide(fx.Private, NewService),
	journal.AsSink(NewSink),
	httpx.AsRoutes(routes),
	boot.AsMigrations("audit", migrations.For("audit")),
)
