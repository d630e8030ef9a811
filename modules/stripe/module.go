package stripe

import (
	"time"

	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/httpx"
	"crm/platform/journal"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// Module is Stripe in: each account's Stripe webhook and its settings.
var Module = fx.Module("stripe",
	fx.Provide(NewService),
	httpx.AsRoutes(routes),
	boot.AsMigrations("stripe", migrations.For("stripe")),
)

// Service holds the account's Stripe settings and applies its events.
type Service struct {
	db *bun.DB
	// owner finds the account of a webhook's path token (nothing else).
	owner     db.Owner
	journal   *journal.Journal
	tolerance time.Duration
}

// NewService builds the service.
func NewService(d *bun.DB, o db.Owner, j *journal.Journal, cfg config.Config) *Service {
	return &Service{db: d, owner: o, journal: j, tolerance: cfg.StripeWebhookTolerance}
}
