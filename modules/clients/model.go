package clients

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Client is one client of an account, as stored and as sent on the wire
// (coach, closer and setter are employee ids of the same account, or null).
type Client struct {
	bun.BaseModel `bun:"table:clients,alias:c"`

	ID        int64     `bun:",pk,autoincrement" json:"id"`
	AccountID int64     `bun:",notnull" json:"account" doc:"The caller's account (read-only)."`
	FirstName string    `bun:",notnull" json:"first_name" example:"John"`
	LastName  string    `bun:",notnull" json:"last_name" example:"Doe"`
	Email     string    `bun:",notnull" json:"email" example:"john.doe@example.com"`
	Phone     string    `bun:",notnull" json:"phone" example:"+14440000001"`
	Status    string    `bun:",notnull" json:"status" enum:"active,inactive,onboarding,paused,cancelled"`
	CoachID   *int64    `bun:"coach_id" json:"coach" example:"2"`
	CloserID  *int64    `bun:"closer_id" json:"closer" example:"3"`
	SetterID  *int64    `bun:"setter_id" json:"setter"`
	Country   *string   `bun:"country" json:"country" example:"US" doc:"ISO 3166-1 alpha-2, or null."`
	Currency  *string   `bun:"currency" json:"currency" example:"USD" doc:"ISO 4217, or null."`
	Notes     string    `bun:",notnull" json:"notes"`
	CreatedAt time.Time `bun:",notnull" json:"created_at"`
	UpdatedAt time.Time `bun:",notnull" json:"updated_at"`
}

var _ bun.AfterScanRowHook = (*Client)(nil)

// AfterScanRow makes the timestamps UTC, whatever the driver returned.
func (c *Client) AfterScanRow(context.Context) error {
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	return nil
}

// Statuses are the values of Client.Status, in the statistics' order.
var Statuses = []string{"active", "inactive", "onboarding", "paused", "cancelled"}

// fields are the client's wire fields and values, for the journal's diffs.
func (c *Client) fields() map[string]any {
	return map[string]any{
		"first_name": c.FirstName, "last_name": c.LastName, "email": c.Email, "phone": c.Phone,
		"status": c.Status, "coach": deref(c.CoachID), "closer": deref(c.CloserID), "setter": deref(c.SetterID),
		"country": deref(c.Country), "currency": deref(c.Currency), "notes": c.Notes,
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// ClientStatistics counts the clients by status, in the seed's shape.
type ClientStatistics struct {
	Total      int `json:"total"`
	Active     int `json:"active"`
	Inactive   int `json:"inactive"`
	Onboarding int `json:"onboarding"`
	Paused     int `json:"paused"`
	Cancelled  int `json:"cancelled"`
}
