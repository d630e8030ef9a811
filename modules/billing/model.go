package billing

import (
	"context"
	"time"

	"crm/platform/field"
	"crm/platform/money"

	"github.com/uptrace/bun"
)

// Payment is money received from (or attempted by) a client: a financial
// record, never deleted; only its status changes. The amount is stored in
// cents (amount_cents).
type Payment struct {
	bun.BaseModel `bun:"table:payments,alias:pay"`

	ID                    int64        `bun:",pk,autoincrement" json:"id"`
	AccountID             int64        `bun:",notnull" json:"account" doc:"The caller's account (read-only)."`
	ClientID              int64        `bun:"client_id,notnull" json:"client" example:"1"`
	Amount                money.Amount `bun:"amount_cents,notnull" json:"amount"`
	Currency              string       `bun:",notnull" json:"currency" example:"USD"`
	Status                string       `bun:",notnull" json:"status" enum:"paid,failed,refunded,disputed"`
	PaymentDate           field.Date   `bun:",notnull" json:"payment_date"`
	StripePaymentIntentID *string      `bun:"stripe_payment_intent_id" json:"stripe_payment_intent_id" example:"pi_3MtwBwLkdIwHu7ix28a3tqPa" doc:"Or null; unique in the account."`
	CreatedAt             time.Time    `bun:",notnull" json:"created_at"`
	UpdatedAt             time.Time    `bun:",notnull" json:"updated_at"`
}

// AfterScanRow makes the timestamps UTC, whatever the driver returned.
func (p *Payment) AfterScanRow(context.Context) error {
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return nil
}

func (p *Payment) client() int64       { return p.ClientID }
func (p *Payment) created(t time.Time) { p.CreatedAt, p.UpdatedAt = t, t }
func (p *Payment) key() int64          { return p.ID }

func (p *Payment) fields() map[string]any {
	return map[string]any{
		"client": p.ClientID, "amount": p.Amount.String(), "currency": p.Currency, "status": p.Status,
		"payment_date": p.PaymentDate.String(), "stripe_payment_intent_id": deref(p.StripePaymentIntentID),
	}
}

// Instalment is one scheduled part of a client's payments, optionally of a
// client package (then numbered uniquely within it).
type Instalment struct {
	bun.BaseModel `bun:"table:instalments,alias:ins"`

	ID               int64        `bun:",pk,autoincrement" json:"id"`
	AccountID        int64        `bun:",notnull" json:"account" doc:"The caller's account (read-only)."`
	ClientID         int64        `bun:"client_id,notnull" json:"client" example:"1"`
	ClientPackageID  *int64       `bun:"client_package_id" json:"client_package" example:"1" doc:"A client package of the same client, or null."`
	Amount           money.Amount `bun:"amount_cents,notnull" json:"amount"`
	Currency         string       `bun:",notnull" json:"currency" example:"USD"`
	ScheduleDate     field.Date   `bun:",notnull" json:"schedule_date"`
	Status           string       `bun:",notnull" json:"status" enum:"open,paid,failed,closed"`
	InstalmentNumber int          `bun:",notnull" json:"instalment_number" example:"1"`
	CreatedAt        time.Time    `bun:",notnull" json:"created_at"`
	UpdatedAt        time.Time    `bun:",notnull" json:"updated_at"`
}

// AfterScanRow makes the timestamps UTC, whatever the driver returned.
func (i *Instalment) AfterScanRow(context.Context) error {
	i.CreatedAt, i.UpdatedAt = i.CreatedAt.UTC(), i.UpdatedAt.UTC()
	return nil
}

func (i *Instalment) client() int64       { return i.ClientID }
func (i *Instalment) created(t time.Time) { i.CreatedAt, i.UpdatedAt = t, t }
func (i *Instalment) key() int64          { return i.ID }

func (i *Instalment) fields() map[string]any {
	return map[string]any{
		"client": i.ClientID, "client_package": deref(i.ClientPackageID), "amount": i.Amount.String(),
		"currency": i.Currency, "schedule_date": i.ScheduleDate.String(), "status": i.Status,
		"instalment_number": i.InstalmentNumber,
	}
}

// StripeCustomer links a client to a customer of the account's Stripe.
type StripeCustomer struct {
	bun.BaseModel `bun:"table:stripe_customers,alias:sc"`

	ID               int64     `bun:",pk,autoincrement" json:"id"`
	AccountID        int64     `bun:",notnull" json:"account" doc:"The caller's account (read-only)."`
	ClientID         int64     `bun:"client_id,notnull" json:"client" example:"1"`
	StripeCustomerID string    `bun:",notnull" json:"stripe_customer_id" example:"cus_NffrFeUfNV2Hib" doc:"Unique in the account."`
	Email            string    `bun:",notnull" json:"email" example:"john.doe@example.com"`
	Status           string    `bun:",notnull" json:"status" enum:"active,inactive"`
	CreatedAt        time.Time `bun:",notnull" json:"created_at"`
	UpdatedAt        time.Time `bun:",notnull" json:"updated_at"`
}

// AfterScanRow makes the timestamps UTC, whatever the driver returned.
func (c *StripeCustomer) AfterScanRow(context.Context) error {
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return nil
}

func (c *StripeCustomer) client() int64       { return c.ClientID }
func (c *StripeCustomer) created(t time.Time) { c.CreatedAt, c.UpdatedAt = t, t }
func (c *StripeCustomer) key() int64          { return c.ID }

func (c *StripeCustomer) fields() map[string]any {
	return map[string]any{"client": c.ClientID, "stripe_customer_id": c.StripeCustomerID, "email": c.Email, "status": c.Status}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// The allowed statuses, in the statistics' order for payments.
var (
	PaymentStatuses        = []string{"paid", "failed", "refunded", "disputed"}
	InstalmentStatuses     = []string{"open", "paid", "failed", "closed"}
	StripeCustomerStatuses = []string{"active", "inactive"}
)

// Statistics are the seed's payment statistics plus totals per currency (a
// sum across currencies means nothing alone). Amounts are exact sums of
// cents, as two-place strings.
type Statistics struct {
	TotalPayments    int              `json:"total_payments"`
	TotalAmount      money.Amount     `json:"total_amount" doc:"Sum of every payment in the set, all statuses and currencies."`
	Paid             int              `json:"paid"`
	Failed           int              `json:"failed"`
	Refunded         int              `json:"refunded"`
	Disputed         int              `json:"disputed"`
	TotalsByCurrency []CurrencyTotals `json:"totals_by_currency"`
}

// CurrencyTotals are the statistics of one currency.
type CurrencyTotals struct {
	Currency    string       `json:"currency" example:"USD"`
	Count       int          `json:"count"`
	TotalAmount money.Amount `json:"total_amount" doc:"Sum of the currency's payments, all statuses."`
	PaidAmount  money.Amount `json:"paid_amount" doc:"Sum of the currency's paid payments."`
	Paid        int          `json:"paid"`
	Failed      int          `json:"failed"`
	Refunded    int          `json:"refunded"`
	Disputed    int          `json:"disputed"`
}
