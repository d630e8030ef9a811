package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crm/platform/db"
	"crm/platform/emailaddr"
	"crm/platform/errs"
	"crm/platform/field"
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
	if found, err := db.First(ctx, q, false); err != nil || !found {
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

// clientByID tells whether raw is the id of a client of the account.
func (s *Service) clientByID(ctx context.Context, tx bun.IDB, raw string) (int64, bool, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || id <= 0 {
		return 0, false, nil
	}
	ok, err := s.clients.Exists(ctx, tx, id)
	return id, ok && err == nil, err
}

// clientOf links a Stripe object to a client: through its customer's
// Stripe customer row, else through metadata.client_id.
func (s *Service) clientOf(ctx context.Context, tx bun.IDB, customerID string, metadata map[string]string) (int64, bool, error) {
	if customerID != "" {
		id, ok, err := s.billing.StripeCustomerClient(ctx, tx, customerID)
		if err != nil || ok {
			return id, ok, err
		}
	}
	if raw, ok := metadata["client_id"]; ok {
		return s.clientByID(ctx, tx, raw)
	}
	return 0, false, nil
}

// refused is the outcome of an event whose row billing refuses (a 4xx:
// a value its API would refuse too); any other error is returned.
func refused(what string, err error) (result, error) {
	var e *errs.Error
	if errors.As(err, &e) && e.Status < http.StatusInternalServerError {
		return ignored(what + " " + e.Detail), nil
	}
	return result{}, err
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

func dateOf(unix int64, fallback time.Time) field.Date {
	t := fallback
	if unix > 0 {
		t = time.Unix(unix, 0).UTC()
	}
	d, _ := field.ParseDate(t.UTC().Format(time.DateOnly))
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
	if ev.Type == "customer.deleted" || obj.Deleted {
		if err := setVersion(ctx, tx, obj.ID, at, true); err != nil {
			return result{}, err
		}
		done, err := s.billing.DeactivateStripeCustomer(ctx, tx, obj.ID)
		if err != nil || !done {
			return unchanged("No active Stripe customer to deactivate."), err
		}
		return applied("Stripe customer deactivated."), nil
	}

	clientID, found := int64(0), false
	if raw, ok := obj.Metadata["client_id"]; ok {
		if clientID, found, err = s.clientByID(ctx, tx, raw); err != nil {
			return result{}, err
		}
	}
	if !found {
		if clientID, found, err = s.clients.IDByEmail(ctx, tx, obj.Email); err != nil {
			return result{}, err
		}
	}
	if !found {
		if clientID, found, err = s.billing.StripeCustomerClient(ctx, tx, obj.ID); err != nil {
			return result{}, err
		}
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
	created, changed, err := s.billing.LinkStripeCustomer(ctx, tx, obj.ID, clientID, email)
	switch {
	case err != nil:
		return refused("The Stripe customer cannot be linked:", err)
	case created:
		return result{outcome: outcomeApplied, detail: "Stripe customer created.", linked: obj.ID}, nil
	case changed:
		return result{outcome: outcomeApplied, detail: "Stripe customer updated.", linked: obj.ID}, nil
	}
	return result{outcome: outcomeUnchanged, detail: "Nothing to change.", linked: obj.ID}, nil
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
	old, err := s.billing.StripePaymentStatus(ctx, tx, f.intent)
	if err != nil {
		return result{}, err
	}
	if old != "" {
		if paymentRank[f.status] <= paymentRank[old] {
			return unchanged("The payment is already " + old + ": a status never moves back."), nil
		}
		if err := s.billing.SetStripePaymentStatus(ctx, tx, f.intent, f.status); err != nil {
			return result{}, err
		}
		return applied("Payment " + old + " → " + f.status + "."), nil
	}
	if !canCreate {
		return result{outcome: outcomeWaiting, detail: "Waiting for the payment of " + f.intent + ".", waitingFor: f.intent}, nil
	}
	clientID, ok, err := s.clientOf(ctx, tx, f.customer, f.metadata)
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
	if err := s.billing.RecordStripePayment(ctx, tx, f.intent, clientID, amount, cur, f.status, dateOf(f.date, eventTime(ev))); err != nil {
		return refused("The payment cannot be recorded:", err)
	}
	return result{outcome: outcomeApplied, detail: "Payment recorded (" + f.status + ").", linked: f.intent}, nil
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
	if raw, ok := inv.Metadata["instalment_id"]; ok {
		id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || id <= 0 {
			return ignored("metadata.instalment_id is not an id."), nil
		}
		return s.payInstalment(ctx, tx, id)
	}
	clientID, ok, err := s.clientOf(ctx, tx, string(inv.Customer), inv.Metadata)
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
	id, err := s.billing.OpenInstalmentOf(ctx, tx, clientID, amount, cur)
	if err != nil || id == 0 {
		return ignored("No open instalment of the client matches the amount and currency paid."), err
	}
	return s.payInstalment(ctx, tx, id)
}

func (s *Service) payInstalment(ctx context.Context, tx bun.IDB, id int64) (result, error) {
	was, err := s.billing.PayInstalment(ctx, tx, id)
	switch {
	case err != nil:
		return result{}, err
	case was == "":
		return ignored("metadata.instalment_id names no instalment of this account."), nil
	case was != "open":
		return unchanged("The instalment is already " + was + "."), nil
	}
	return applied(fmt.Sprintf("Instalment %d paid.", id)), nil
}
