package stripe

import (
	"context"
	"time"

	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/field"
	"crm/platform/httpx"
	"crm/platform/journal"
	"crm/platform/money"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// Module is Stripe in: each account's Stripe webhook and its settings. It
// needs a Billing and Clients (cmd/crm binds the billing and clients
// services).
var Module = fx.Module("stripe",
	fx.Provide(NewService),
	httpx.AsRoutes(routes),
	boot.AsMigrations("stripe", migrations.For("stripe")),
)

// Billing is what Stripe in asks of the billing module, which owns the
// payments, instalments and Stripe customers, their rules and their journal
// entries. Each call runs in tx, the event's transaction, in its account; a
// row billing refuses is an *errs.Error of a 4xx status.
type Billing interface {
	// StripeCustomerClient returns the client a Stripe customer links.
	StripeCustomerClient(ctx context.Context, tx bun.IDB, customerID string) (clientID int64, found bool, err error)
	// LinkStripeCustomer makes customerID the active Stripe customer of
	// clientID, with email: created, or changed, or neither.
	LinkStripeCustomer(ctx context.Context, tx bun.IDB, customerID string, clientID int64, email string) (created, changed bool, err error)
	// DeactivateStripeCustomer makes it inactive; false when it was not active.
	DeactivateStripeCustomer(ctx context.Context, tx bun.IDB, customerID string) (bool, error)
	// StripePaymentStatus is the status of the payment of an intent, "" when
	// none is recorded.
	StripePaymentStatus(ctx context.Context, tx bun.IDB, intent string) (string, error)
	// RecordStripePayment records the payment of an intent.
	RecordStripePayment(ctx context.Context, tx bun.IDB, intent string, clientID int64, amount money.Amount, currency, status string, date field.Date) error
	// SetStripePaymentStatus changes the status of the payment of an intent.
	SetStripePaymentStatus(ctx context.Context, tx bun.IDB, intent, status string) error
	// OpenInstalmentOf is the client's earliest open instalment of exactly
	// amount in currency, 0 when none.
	OpenInstalmentOf(ctx context.Context, tx bun.IDB, clientID int64, amount money.Amount, currency string) (int64, error)
	// PayInstalment marks an open instalment paid and returns the status it
	// had ("" when there is no such instalment).
	PayInstalment(ctx context.Context, tx bun.IDB, id int64) (string, error)
}

// Clients is what Stripe in asks of the clients module: which client of the
// account an event names.
type Clients interface {
	Exists(ctx context.Context, tx bun.IDB, id int64) (bool, error)
	IDByEmail(ctx context.Context, tx bun.IDB, email string) (id int64, found bool, err error)
}

// Service holds the account's Stripe settings and applies its events.
type Service struct {
	db *bun.DB
	// owner finds the account of a webhook's path token (nothing else).
	owner     db.Owner
	journal   *journal.Journal
	billing   Billing
	clients   Clients
	tolerance time.Duration
}

// NewService builds the service.
func NewService(d *bun.DB, o db.Owner, j *journal.Journal, b Billing, c Clients, cfg config.Config) *Service {
	return &Service{db: d, owner: o, journal: j, billing: b, clients: c, tolerance: cfg.StripeWebhookTolerance}
}
