package stripe

import (
	"time"

	"github.com/uptrace/bun"
)

// Settings are an account's Stripe webhook: the path token of its URL and
// its signing secret.
type Settings struct {
	bun.BaseModel `bun:"table:stripe_settings,alias:ss"`

	AccountID     int64     `bun:",pk"`
	PathToken     string    `bun:",notnull"`
	WebhookSecret string    `bun:",notnull"`
	CreatedAt     time.Time `bun:",notnull"`
	UpdatedAt     time.Time `bun:",notnull"`
}

// SettingsView is what the API shows: never the secret.
type SettingsView struct {
	EndpointPath *string    `json:"endpoint_path" example:"/api/webhooks/stripe/3q2-9xT0aP4LwZr5bC8sYk1mN6vH7dE2fG0jK4uQ9iA/" doc:"The path to give Stripe (after this server's public address); null until a secret is set."`
	SecretSet    bool       `json:"secret_set" doc:"Whether a signing secret is set (the secret itself is never shown)."`
	UpdatedAt    *time.Time `json:"updated_at"`
}

// Event outcomes.
const (
	outcomeApplied   = "applied"
	outcomeIgnored   = "ignored"
	outcomeWaiting   = "waiting"
	outcomeUnchanged = "unchanged"
)

// eventRow is one Stripe event received by an account.
type eventRow struct {
	bun.BaseModel `bun:"table:stripe_events,alias:se"`

	AccountID  int64     `bun:",pk"`
	EventID    string    `bun:",pk"`
	Type       string    `bun:",notnull"`
	Created    time.Time `bun:",notnull"`
	ReceivedAt time.Time `bun:",notnull"`
	Outcome    string    `bun:",notnull"`
	Detail     string    `bun:",notnull"`
	WaitingFor string    `bun:",notnull"`
	Payload    *string   `bun:",nullzero"`
}

// objectVersion is the newest event applied to a Stripe object.
type objectVersion struct {
	bun.BaseModel `bun:"table:stripe_objects,alias:so"`

	AccountID   int64     `bun:",pk"`
	StripeID    string    `bun:",pk"`
	LastEventAt time.Time `bun:",notnull"`
	Deleted     bool      `bun:",notnull"`
}
