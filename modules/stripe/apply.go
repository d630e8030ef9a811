package stripe

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crm/modules/billing"
	"crm/platform/db"
	"crm/platform/emailaddr"
	"crm/platform/httpx"
	"crm/platform/journal"
	"crm/platform/money"
	"crm/platform/tenant"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/uptrace/bun"
)

// paymentRank orders payment statuses: a Stripe event moves a payment only
// to a higher rank, so events arriving in any order end in the same state
// (a payment_intent.succeeded after charge.refunded leaves it refunded).
var paymentRank = map[string]int{"failed": 1, "paid": 2, "refunded": 3, "disputed": 4}

func eventTime(ev *stripego.Event) time.Time { return time.Unix(ev.Created, 0).UTC() }

// ---------------------------------------------------------------- lookups

// version returns the newest event applied to a Stripe object, or nil.
func version(ctx context.Context, tx bun.IDB, stripeID string) (*objectVersion, error) {
	v := new(objectVersion)
	q, err := tenant.Scope(ctx, tx.NewSelect().Model(v).Where("so.stripe_id = ?", stripeID))
	if err != nil {
		return nil, err
	}
	if err := q.Scan(ctx); err != nil {
		if db.IsNoRows(err) {
			return nil, nil
		}
		return nil, err
	}
	return v, nil
}

// setVersion records that an event of at was applied to a Stripe object.
func setVersion(ctx context.Context, tx bun.IDB, stripeID string, at time.Time, deleted bool) error {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return err
	}
	v := &objectVersion{AccountID: accountID, StripeID: stripeID, LastEventAt: at, Deleted: deleted}
	_, err = tx.NewInsert().Model(v).
		On("CONFLICT (account_id, stripe_id) DO UPDATE").
		Set("last_event_at = CASE WHEN EXCLUDED.last_event_at > so.last_event_at THEN EXCLUDED.last_event_at ELSE so.last_event_at END").
		Set("deleted = so.deleted OR EXCLUDED.deleted").
		Exec(ctx)
	return err
}

// stripeCustomer returns the account's row for a Stripe customer, or nil.
func stripeCustomer(ctx context.Context, tx bun.IDB, customerID string) (*billing.StripeCustomer, error) {
	c := new(billing.StripeCustomer)
	q, err := tenant.Scope(ctx, tx.NewSelect().Model(c).Where("sc.stripe_customer_id = ?", customerID))
	if err != nil {
		return nil, err
	}
	if err := q.Scan(ctx); err != nil {
		if db.IsNoRows(err) {
			return nil, nil
		}
		return nil, err
	}
	return c, nil
}

// clientRow is the little of a client these lookups read.
type clientRow struct {
	bun.BaseModel `bun:"table:clients,alias:c"`

	ID int64 `bun:",pk"`
}

// clientByID tells whether the account has the client.
func clientByID(ctx context.Context, tx bun.IDB, raw string) (int64, bool, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || id <= 0 {
		return 0, false, nil
	}
	q, err := tenant.Scope(ctx, tx.NewSelect().Model((*clientRow)(nil)).Where("c.id = ?", id))
	if err != nil {
		return 0, false, err
	}
	ok, err := q.Exists(ctx)
	return id, ok && err == nil, err
}

// clientByEmail finds the account's client with this email (any case).
func clientByEmail(ctx context.Context, tx bun.IDB, email string) (int64, bool, error) {
	email = emailaddr.Normalize(email)
	if email == "" {
		return 0, false, nil
	}
	if db.DialectOf(tx) == db.Postgres {
		// Under row-level security lower(email) cannot use its index
		// (migrations/clients): the function finds it as the owner, in the
		// request's account.
		var id sql.NullInt64
		if err := tx.NewSelect().ColumnExpr("crm_client_by_email(?)", email).Scan(ctx, &id); err != nil {
			return 0, false, err
		}
		return id.Int64, id.Valid, nil
	}
	var id int64
	q, err := tenant.Scope(ctx, tx.NewSelect().Model((*clientRow)(nil)).Column("c.id").Where("lower(c.email) = ?", email).Limit(1))
	if err != nil {
		return 0, false, err
	}
	if err := q.Scan(ctx, &id); err != nil {
		if db.IsNoRows(err) {
			return 0, false, nil
		}
		return 0, false, err
	}
	return id, true, nil
}

// clientOf links a Stripe object to a client: through its customer's
// Stripe customer row, else through metadata.client_id.
func clientOf(ctx context.Context, tx bun.IDB, customerID string, metadata map[string]string) (int64, bool, error) {
	if customerID != "" {
		c, err := stripeCustomer(ctx, tx, customerID)
		if err != nil || c != nil {
			if c == nil {
				return 0, false, err
			}
			return c.ClientID, true, nil
		}
	}
	if raw, ok := metadata["client_id"]; ok {
		return clientByID(ctx, tx, raw)
	}
	return 0, false, nil
}

// zeroDecimal and threeDecimal are the currencies whose minor unit is not
// the cent (https://docs.stripe.com/currencies).
var (
	zeroDecimal  = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF"
	threeDecimal = "BHD JOD KWD OMR TND"
)

// amountOf turns a Stripe amount in the currency's minor unit into an
// exact Amount (two places), and the currency into its upper-case code.
func amountOf(minor int64, currency string) (money.Amount, string, error) {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	if len(cur) != 3 || strings.Trim(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return 0, "", fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	if minor < 0 {
		return 0, "", fmt.Errorf("negative amount")
	}
	cents := minor
	switch {
	case strings.Contains(zeroDecimal, cur):
		if minor > int64(money.Limit)/100 {
			return 0, "", fmt.Errorf("amount too large")
		}
		cents = minor * 100
	case strings.Contains(threeDecimal, cur):
		if minor%10 != 0 {
			return 0, "", fmt.Errorf("amount %d %s has three decimals", minor, cur)
		}
		cents = minor / 10
	}
	if money.Amount(cents) >= money.Limit {
		return 0, "", fmt.Errorf("amount too large")
	}
	return money.Amount(cents), cur, nil
}

func dateOf(unix int64, fallback time.Time) httpx.Date {
	t := fallback
	if unix > 0 {
		t = time.Unix(unix, 0).UTC()
	}
	d, _ := httpx.ParseDate(t.UTC().Format(time.DateOnly))
	return d
}

// ---------------------------------------------------------------- customers

// applyCustomer keeps the account's Stripe customer rows: created or
// updated when the customer matches a client (metadata.client_id, else its
// email), inactive once deleted. The newest event wins; a deletion is final.
func (s *Service) applyCustomer(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	var obj customerObject
	if err := decode(ev, &obj); err != nil {
		return result{}, err
	}
	if obj.ID == "" || len(obj.ID) > 255 {
		return ignored("The customer has no id."), nil
	}
	at := eventTime(ev)
	ver, err := version(ctx, tx, obj.ID)
	if err != nil {
		return result{}, err
	}
	if ver != nil && (ver.Deleted || at.Before(ver.LastEventAt)) {
		return unchanged("A newer event (or the customer's deletion) was already applied."), nil
	}
	row, err := stripeCustomer(ctx, tx, obj.ID)
	if err != nil {
		return result{}, err
	}
	if ev.Type == "customer.deleted" || obj.Deleted {
		if err := setVersion(ctx, tx, obj.ID, at, true); err != nil {
			return result{}, err
		}
		if row == nil || row.Status == "inactive" {
			return unchanged("No active Stripe customer to deactivate."), nil
		}
		old := *row
		row.Status, row.UpdatedAt = "inactive", now()
		if err := s.saveCustomer(ctx, tx, &old, row); err != nil {
			return result{}, err
		}
		return applied("Stripe customer deactivated."), nil
	}

	clientID, found := int64(0), false
	if raw, ok := obj.Metadata["client_id"]; ok {
		if clientID, found, err = clientByID(ctx, tx, raw); err != nil {
			return result{}, err
		}
	}
	if !found {
		if clientID, found, err = clientByEmail(ctx, tx, obj.Email); err != nil {
			return result{}, err
		}
	}
	if !found && row != nil {
		clientID, found = row.ClientID, true
	}
	if !found {
		return ignored("No client of the account matches the customer's metadata.client_id or email."), nil
	}
	if err := setVersion(ctx, tx, obj.ID, at, false); err != nil {
		return result{}, err
	}
	// Stripe's address, kept when it passes the API's own rule (else none).
	email := emailaddr.Normalize(obj.Email)
	if emailaddr.Problem(email) != "" {
		email = ""
	}
	t := now()
	if row == nil {
		accountID, _ := tenant.Account(ctx)
		row = &billing.StripeCustomer{AccountID: accountID, ClientID: clientID, StripeCustomerID: obj.ID, Email: email,
			Status: "active", CreatedAt: t, UpdatedAt: t}
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			return result{}, err
		}
		if err := s.journal.Record(ctx, tx, journal.Entry{Action: "create", ObjectType: "stripe_customer", ObjectID: row.ID,
			Changes: journal.Diff(map[string][2]any{"client": {nil, row.ClientID}, "stripe_customer_id": {nil, row.StripeCustomerID},
				"email": {nil, row.Email}, "status": {nil, row.Status}}), Object: row}); err != nil {
			return result{}, err
		}
		return result{outcome: outcomeApplied, detail: "Stripe customer created.", linked: obj.ID}, nil
	}
	old := *row
	row.ClientID, row.Email, row.Status = clientID, email, "active"
	if old.ClientID == row.ClientID && old.Email == row.Email && old.Status == row.Status {
		return result{outcome: outcomeUnchanged, detail: "Nothing to change.", linked: obj.ID}, nil
	}
	row.UpdatedAt = t
	if err := s.saveCustomer(ctx, tx, &old, row); err != nil {
		return result{}, err
	}
	return result{outcome: outcomeApplied, detail: "Stripe customer updated.", linked: obj.ID}, nil
}

func (s *Service) saveCustomer(ctx context.Context, tx bun.IDB, old, row *billing.StripeCustomer) error {
	q, err := tenant.Scope(ctx, tx.NewUpdate().Model(row).Column("client_id", "email", "status", "updated_at").WherePK())
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx); err != nil {
		return err
	}
	return s.journal.Record(ctx, tx, journal.Entry{Action: "update", ObjectType: "stripe_customer", ObjectID: row.ID,
		Changes: journal.Diff(map[string][2]any{"client": {old.ClientID, row.ClientID}, "email": {old.Email, row.Email},
			"status": {old.Status, row.Status}}), Object: row})
}

// ---------------------------------------------------------------- payments

// paymentFacts is what an event says of the payment of one payment intent.
type paymentFacts struct {
	intent   string
	status   string
	amount   int64 // minor units
	currency string
	customer string
	metadata map[string]string
	date     int64 // unix seconds of the payment
}

func (s *Service) applyPaymentIntent(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	var pi paymentIntentObject
	if err := decode(ev, &pi); err != nil {
		return result{}, err
	}
	f := paymentFacts{intent: pi.ID, status: "failed", amount: pi.Amount, currency: pi.Currency, customer: string(pi.Customer),
		metadata: pi.Metadata, date: pi.Created}
	if ev.Type == "payment_intent.succeeded" {
		f.status = "paid"
		if pi.AmountReceived > 0 {
			f.amount = pi.AmountReceived
		}
	}
	return s.setPayment(ctx, tx, ev, f, true)
}

// applyRefund marks the payment of a fully refunded charge refunded. A
// partial refund leaves the payment as it is.
func (s *Service) applyRefund(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	var ch chargeObject
	if err := decode(ev, &ch); err != nil {
		return result{}, err
	}
	if ch.PaymentIntent == "" {
		return ignored("The charge has no payment intent."), nil
	}
	if !ch.Refunded {
		return unchanged("A partial refund: the payment's status stays."), nil
	}
	return s.setPayment(ctx, tx, ev, paymentFacts{intent: string(ch.PaymentIntent), status: "refunded", amount: ch.Amount,
		currency: ch.Currency, customer: string(ch.Customer), metadata: ch.Metadata, date: ch.Created}, true)
}

// applyDispute marks the payment of a disputed charge disputed. A dispute
// for a payment not recorded yet waits for it.
func (s *Service) applyDispute(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	var dp disputeObject
	if err := decode(ev, &dp); err != nil {
		return result{}, err
	}
	if dp.PaymentIntent == "" {
		return ignored("The dispute has no payment intent."), nil
	}
	return s.setPayment(ctx, tx, ev, paymentFacts{intent: string(dp.PaymentIntent), status: "disputed", amount: dp.Amount,
		currency: dp.Currency, metadata: dp.Metadata, date: dp.Created}, false)
}

// setPayment records the payment of an intent, or moves its status
// forward. canCreate is false when the event lacks what a new payment needs
// (a dispute: no customer); it then waits for the intent's payment.
func (s *Service) setPayment(ctx context.Context, tx bun.IDB, ev *stripego.Event, f paymentFacts, canCreate bool) (result, error) {
	if f.intent == "" || len(f.intent) > 255 {
		return ignored("The event names no payment intent."), nil
	}
	if err := setVersion(ctx, tx, f.intent, eventTime(ev), false); err != nil {
		return result{}, err
	}
	p := new(billing.Payment)
	q, err := tenant.Scope(ctx, tx.NewSelect().Model(p).Where("pay.stripe_payment_intent_id = ?", f.intent))
	if err != nil {
		return result{}, err
	}
	err = q.Scan(ctx)
	switch {
	case err == nil:
		if paymentRank[f.status] <= paymentRank[p.Status] {
			return unchanged("The payment is already " + p.Status + ": a status never moves back."), nil
		}
		old := p.Status
		p.Status, p.UpdatedAt = f.status, now()
		uq, err := tenant.Scope(ctx, tx.NewUpdate().Model(p).Column("status", "updated_at").WherePK())
		if err != nil {
			return result{}, err
		}
		if _, err := uq.Exec(ctx); err != nil {
			return result{}, err
		}
		if err := s.journal.Record(ctx, tx, journal.Entry{Action: "status_change", ObjectType: "payment", ObjectID: p.ID,
			Changes: map[string]journal.Change{"status": {Old: old, New: p.Status}}, Object: p}); err != nil {
			return result{}, err
		}
		return applied("Payment " + old + " → " + p.Status + "."), nil
	case !db.IsNoRows(err):
		return result{}, err
	}
	if !canCreate {
		return result{outcome: outcomeWaiting, detail: "Waiting for the payment of " + f.intent + ".", waitingFor: f.intent}, nil
	}
	clientID, ok, err := clientOf(ctx, tx, f.customer, f.metadata)
	if err != nil {
		return result{}, err
	}
	if !ok {
		if f.customer == "" {
			return ignored("The payment has no customer (nor metadata.client_id) to link it to a client."), nil
		}
		return result{outcome: outcomeWaiting, detail: "Waiting for customer " + f.customer + " to be linked to a client.", waitingFor: f.customer}, nil
	}
	amount, cur, err := amountOf(f.amount, f.currency)
	if err != nil {
		return ignored("The amount cannot be recorded exactly: " + err.Error() + "."), nil
	}
	accountID, _ := tenant.Account(ctx)
	t := now()
	intent := f.intent
	p = &billing.Payment{AccountID: accountID, ClientID: clientID, Amount: amount, Currency: cur, Status: f.status,
		PaymentDate: dateOf(f.date, eventTime(ev)), StripePaymentIntentID: &intent, CreatedAt: t, UpdatedAt: t}
	if _, err := tx.NewInsert().Model(p).Returning("id").Exec(ctx); err != nil {
		return result{}, err
	}
	if err := s.journal.Record(ctx, tx, journal.Entry{Action: "create", ObjectType: "payment", ObjectID: p.ID,
		Changes: journal.Diff(map[string][2]any{"client": {nil, p.ClientID}, "amount": {nil, p.Amount.String()},
			"currency": {nil, p.Currency}, "status": {nil, p.Status}, "payment_date": {nil, p.PaymentDate.String()},
			"stripe_payment_intent_id": {nil, intent}}), Object: p}); err != nil {
		return result{}, err
	}
	return result{outcome: outcomeApplied, detail: "Payment recorded (" + p.Status + ").", linked: intent}, nil
}

// ---------------------------------------------------------------- instalments

// applyInvoice marks the matching open instalment paid. The match:
// metadata.instalment_id when the invoice has it; else the client's (through
// the invoice's customer, or metadata.client_id) earliest open instalment
// (schedule date, then number) of exactly the amount paid, in its currency.
func (s *Service) applyInvoice(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	var inv invoiceObject
	if err := decode(ev, &inv); err != nil {
		return result{}, err
	}
	ins := new(billing.Instalment)
	if raw, ok := inv.Metadata["instalment_id"]; ok {
		id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || id <= 0 {
			return ignored("metadata.instalment_id is not an id."), nil
		}
		q, err := tenant.Scope(ctx, tx.NewSelect().Model(ins).Where("ins.id = ?", id))
		if err != nil {
			return result{}, err
		}
		if err := q.Scan(ctx); err != nil {
			if db.IsNoRows(err) {
				return ignored("metadata.instalment_id names no instalment of this account."), nil
			}
			return result{}, err
		}
		if ins.Status != "open" {
			return unchanged("The instalment is already " + ins.Status + "."), nil
		}
		return s.payInstalment(ctx, tx, ins)
	}
	clientID, ok, err := clientOf(ctx, tx, string(inv.Customer), inv.Metadata)
	if err != nil {
		return result{}, err
	}
	if !ok {
		if inv.Customer == "" {
			return ignored("The invoice has no customer (nor metadata) to link it to a client."), nil
		}
		return result{outcome: outcomeWaiting, detail: "Waiting for customer " + string(inv.Customer) + " to be linked to a client.", waitingFor: string(inv.Customer)}, nil
	}
	amount, cur, err := amountOf(inv.AmountPaid, inv.Currency)
	if err != nil {
		return ignored("The amount cannot be matched exactly: " + err.Error() + "."), nil
	}
	q, err := tenant.Scope(ctx, tx.NewSelect().Model(ins).
		Where("ins.client_id = ?", clientID).Where("ins.status = ?", "open").
		Where("ins.amount_cents = ?", int64(amount)).Where("ins.currency = ?", cur).
		OrderExpr("ins.schedule_date ASC, ins.instalment_number ASC, ins.id ASC").Limit(1))
	if err != nil {
		return result{}, err
	}
	if err := q.Scan(ctx); err != nil {
		if db.IsNoRows(err) {
			return ignored("No open instalment of the client matches the amount and currency paid."), nil
		}
		return result{}, err
	}
	return s.payInstalment(ctx, tx, ins)
}

func (s *Service) payInstalment(ctx context.Context, tx bun.IDB, ins *billing.Instalment) (result, error) {
	ins.Status, ins.UpdatedAt = "paid", now()
	q, err := tenant.Scope(ctx, tx.NewUpdate().Model(ins).Column("status", "updated_at").WherePK().Where("ins.status = ?", "open"))
	if err != nil {
		return result{}, err
	}
	if _, err := q.Exec(ctx); err != nil {
		return result{}, err
	}
	if err := s.journal.Record(ctx, tx, journal.Entry{Action: "status_change", ObjectType: "instalment", ObjectID: ins.ID,
		Changes: map[string]journal.Change{"status": {Old: "open", New: "paid"}}, Object: ins}); err != nil {
		return result{}, err
	}
	return applied(fmt.Sprintf("Instalment %d paid.", ins.ID)), nil
}
