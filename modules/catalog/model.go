package catalog

import (
	"context"
	"time"

	"crm/platform/field"
	"crm/platform/money"

	"github.com/uptrace/bun"
)

// Package is an offering of the account (a coaching programme), as stored
// and as sent on the wire.
type Package struct {
	bun.BaseModel `bun:"table:packages,alias:pkg"`

	ID          int64     `bun:",pk,autoincrement" json:"id"`
	AccountID   int64     `bun:",notnull" json:"account" doc:"The caller's account (read-only)."`
	PackageName string    `bun:",notnull" json:"package_name" example:"Premium Package"`
	Description string    `bun:",notnull" json:"description" example:"Our premium offering"`
	CreatedAt   time.Time `bun:",notnull" json:"created_at"`
	UpdatedAt   time.Time `bun:",notnull" json:"updated_at"`
}

// AfterScanRow makes the timestamps UTC, whatever the driver returned.
func (p *Package) AfterScanRow(context.Context) error {
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return nil
}

func (p *Package) fields() map[string]any {
	return map[string]any{"package_name": p.PackageName, "description": p.Description}
}

// ClientPackage is a package sold to a client: its price, schedule and
// dates. Amounts are stored in cents (columns *_cents).
type ClientPackage struct {
	bun.BaseModel `bun:"table:client_packages,alias:cp"`

	ID                   int64         `bun:",pk,autoincrement" json:"id"`
	AccountID            int64         `bun:",notnull" json:"account" doc:"The caller's account (read-only)."`
	ClientID             int64         `bun:"client_id,notnull" json:"client" example:"1"`
	PackageID            int64         `bun:"package_id,notnull" json:"package" example:"2"`
	CustomPrice          money.Amount  `bun:"custom_price_cents,notnull" json:"custom_price"`
	MonthlyPaymentAmount *money.Amount `bun:"monthly_payment_amount_cents" json:"monthly_payment_amount" doc:"Or null."`
	PaymentSchedule      string        `bun:",notnull" json:"payment_schedule" enum:"PIF,Monthly,Quarterly,Yearly"`
	StartDate            field.Date    `bun:",notnull" json:"start_date"`
	EndDate              *field.Date   `bun:"end_date" json:"end_date" doc:"Or null; never before start_date."`
	Status               string        `bun:",notnull" json:"status" enum:"active,inactive"`
	CreatedAt            time.Time     `bun:",notnull" json:"created_at"`
	UpdatedAt            time.Time     `bun:",notnull" json:"updated_at"`
}

// AfterScanRow makes the timestamps UTC, whatever the driver returned.
func (cp *ClientPackage) AfterScanRow(context.Context) error {
	cp.CreatedAt, cp.UpdatedAt = cp.CreatedAt.UTC(), cp.UpdatedAt.UTC()
	return nil
}

func (cp *ClientPackage) fields() map[string]any {
	return map[string]any{
		"client": cp.ClientID, "package": cp.PackageID, "custom_price": cp.CustomPrice.String(),
		"monthly_payment_amount": amountOrNil(cp.MonthlyPaymentAmount), "payment_schedule": cp.PaymentSchedule,
		"start_date": cp.StartDate.String(), "end_date": dateOrNil(cp.EndDate), "status": cp.Status,
	}
}

func amountOrNil(a *money.Amount) any {
	if a == nil {
		return nil
	}
	return a.String()
}

func dateOrNil(d *field.Date) any {
	if d == nil {
		return nil
	}
	return d.String()
}

// PaymentSchedules and ClientPackageStatuses are the allowed values.
var (
	PaymentSchedules      = []string{"PIF", "Monthly", "Quarterly", "Yearly"}
	ClientPackageStatuses = []string{"active", "inactive"}
)

// Limits of the contract, in characters.
const (
	maxName        = 150
	maxDescription = 10000
)
