package billing

import (
	"context"

	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/journal"
	"crm/platform/money"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// What Stripe in (the stripe module) asks of billing. Each method runs in
// tx, the transaction of the Stripe event, in its account, and writes and
// journals as billing's own routes do, after the same checks: a value they
// refuse is an *errs.Error of status 400 or 409, and nothing is written.
// The client a Stripe event names is found through the clients module by
// the caller.

// set is a field sent with value v.
func set[T any](v T) field.Nullable[T] { return field.Nullable[T]{Set: true, Value: v} }

// find reads into model (a pointer to a billing model) the account's row
// whose column col is value; false when there is none. On PostgreSQL
// forUpdate locks it until the end of the transaction.
func find(ctx context.Context, idb bun.IDB, model any, col string, value any, forUpdate bool) (bool, error) {
	q, err := tenant.Scope(ctx, idb.NewSelect().Model(model).Where("? = ?", bun.Ident(col), value))
	if err != nil {
		return false, err
	}
	return db.First(ctx, q, forUpdate)
}

// StripeCustomerClient returns the client the account's Stripe customer
// customerID links; found is false when no row has that id.
func (s *Service) StripeCustomerClient(ctx context.Context, idb bun.IDB, customerID string) (clientID int64, found bool, err error) {
	c := new(StripeCustomer)
	found, err = find(ctx, idb, c, "sc.stripe_customer_id", customerID, false)
	return c.ClientID, found, err
}

// LinkStripeCustomer makes customerID the account's active Stripe customer
// of clientID, with email: a new row (created), or its row updated (changed,
// false when the row already said so).
func (s *Service) LinkStripeCustomer(ctx context.Context, tx bun.IDB, customerID string, clientID int64, email string) (created, changed bool, err error) {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return false, false, err
	}
	old := new(StripeCustomer)
	found, err := find(ctx, tx, old, "sc.stripe_customer_id", customerID, true)
	if err != nil {
		return false, false, err
	}
	c := &StripeCustomer{AccountID: accountID}
	if found {
		*c = *old
	}
	var v errs.Validation
	StripeCustomerInput{Client: set(clientID), StripeCustomerID: set(customerID), Email: set(email), Status: set("active")}.apply(&v, c, true)
	if err := v.Err(); err != nil {
		return false, false, err
	}
	if !found {
		err := s.insertStripeCustomer(ctx, tx, c)
		return err == nil, err == nil, err
	}
	changed, err = s.saveStripeCustomer(ctx, tx, old, c)
	return false, changed, err
}

// DeactivateStripeCustomer makes the account's Stripe customer customerID
// inactive; false when it has no active row of that id.
func (s *Service) DeactivateStripeCustomer(ctx context.Context, tx bun.IDB, customerID string) (bool, error) {
	old := new(StripeCustomer)
	found, err := find(ctx, tx, old, "sc.stripe_customer_id", customerID, true)
	if err != nil || !found {
		return false, err
	}
	c := *old
	c.Status = "inactive"
	return s.saveStripeCustomer(ctx, tx, old, &c)
}

// StripePaymentStatus returns the status of the account's payment of a
// Stripe payment intent, "" when none is recorded.
func (s *Service) StripePaymentStatus(ctx context.Context, idb bun.IDB, intent string) (string, error) {
	p := new(Payment)
	if _, err := find(ctx, idb, p, "pay.stripe_payment_intent_id", intent, false); err != nil {
		return "", err
	}
	return p.Status, nil
}

// RecordStripePayment records the payment of a Stripe payment intent, of
// clientID, as a POST of it would.
func (s *Service) RecordStripePayment(ctx context.Context, tx bun.IDB, intent string, clientID int64, amount money.Amount, currency, status string, date field.Date) error {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return err
	}
	p := &Payment{AccountID: accountID}
	var v errs.Validation
	PaymentInput{Client: set(clientID), Amount: set(amount), Currency: set(currency), Status: set(status),
		PaymentDate: set(date), StripePaymentIntentID: set(intent)}.apply(&v, p, true)
	if err := v.Err(); err != nil {
		return err
	}
	return s.insertPayment(ctx, tx, p)
}

// SetStripePaymentStatus changes the status of the account's payment of a
// Stripe payment intent, as a PATCH of its status would; a 404 when there
// is no such payment.
func (s *Service) SetStripePaymentStatus(ctx context.Context, tx bun.IDB, intent, status string) error {
	old := new(Payment)
	found, err := find(ctx, tx, old, "pay.stripe_payment_intent_id", intent, true)
	if err != nil {
		return err
	}
	if !found {
		return errs.NotFound()
	}
	p := *old
	var v errs.Validation
	PaymentInput{Status: set(status)}.apply(&v, &p, false)
	if err := v.Err(); err != nil {
		return err
	}
	if diff := journal.Changes(old.fields(), p.fields()); len(diff) > 0 {
		return s.writePaymentStatus(ctx, tx, &p, diff)
	}
	return nil
}

// OpenInstalmentOf returns the id of the client's earliest open instalment
// (by schedule date, then number) of exactly amount in currency; 0 when it
// has none.
func (s *Service) OpenInstalmentOf(ctx context.Context, idb bun.IDB, clientID int64, amount money.Amount, currency string) (int64, error) {
	var id int64
	q, err := tenant.Scope(ctx, idb.NewSelect().Model((*Instalment)(nil)).Column("ins.id").
		Where("ins.client_id = ?", clientID).Where("ins.status = ?", "open").
		Where("ins.amount_cents = ?", int64(amount)).Where("ins.currency = ?", currency).
		OrderExpr("ins.schedule_date ASC, ins.instalment_number ASC, ins.id ASC").Limit(1))
	if err != nil {
		return 0, err
	}
	if err := q.Scan(ctx, &id); err != nil && !db.IsNoRows(err) {
		return 0, err
	}
	return id, nil
}

// PayInstalment marks the account's instalment id paid when it is open, as
// a PATCH of its status would. It returns the status the instalment had
// ("" when the account has no such instalment).
func (s *Service) PayInstalment(ctx context.Context, tx bun.IDB, id int64) (string, error) {
	old := new(Instalment)
	found, err := find(ctx, tx, old, "ins.id", id, true)
	if err != nil || !found || old.Status != "open" {
		return old.Status, err
	}
	i := *old
	if err := s.applyInstalment(ctx, tx, &i, old, InstalmentInput{Status: set("paid")}, false); err != nil {
		return "", err
	}
	return old.Status, s.writeInstalment(ctx, tx, &i, journal.Changes(old.fields(), i.fields()), "status")
}
