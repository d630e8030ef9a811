package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/tenant"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/uptrace/bun"
)

// Receipt is the answer to Stripe.
type Receipt struct {
	Received  bool   `json:"received"`
	Duplicate bool   `json:"duplicate,omitempty" doc:"The event was already received: nothing was written."`
	Outcome   string `json:"outcome" enum:"applied,unchanged,ignored,waiting" doc:"applied: rows changed; unchanged: nothing to change (e.g. an older event); ignored: a type or object this API does not handle; waiting: held until its customer is linked to a client."`
	Detail    string `json:"detail,omitempty"`
}

// result is what applying one event did.
type result struct {
	outcome string
	detail  string
	// waitingFor is the Stripe object (a customer to be linked to a
	// client, a payment intent to be recorded) a waiting event needs.
	waitingFor string
	// linked is the Stripe object this event linked (a customer) or
	// recorded (a payment intent): events waiting for it are applied now.
	linked string
}

func applied(detail string) result   { return result{outcome: outcomeApplied, detail: detail} }
func unchanged(detail string) result { return result{outcome: outcomeUnchanged, detail: detail} }
func ignored(detail string) result   { return result{outcome: outcomeIgnored, detail: detail} }

// Receive verifies and applies one Stripe event posted to the path of the
// account whose token is pathToken. A bad or missing signature, or a stale
// timestamp, is a 400 and writes nothing; an unknown token is a 404.
func (s *Service) Receive(ctx context.Context, pathToken, signature string, payload []byte) (*Receipt, error) {
	if len(pathToken) < 20 || len(pathToken) > 100 {
		return nil, errs.NotFound()
	}
	// Deliberate cross-account read, as the database owner: the path token
	// names the account (the request carries no token of an employee).
	st := new(Settings)
	if err := s.owner.NewSelect().Model(st).Where("ss.path_token = ?", pathToken).Scan(ctx); err != nil {
		if db.IsNoRows(err) {
			return nil, errs.NotFound()
		}
		return nil, err
	}
	if signature == "" {
		return nil, errs.Invalid("Stripe-Signature", "Missing Stripe-Signature header.")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, st.WebhookSecret, webhook.ConstructEventOptions{
		Tolerance: s.tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrTooOld):
			return nil, errs.Invalid("Stripe-Signature", "The signature's timestamp is outside the tolerance.")
		case errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrNotSigned):
			return nil, errs.Invalid("Stripe-Signature", "Invalid Stripe signature.")
		}
		return nil, errs.Invalid("body", "The signed body is not a Stripe event.")
	}
	if ev.ID == "" || ev.Type == "" || ev.Data == nil || len(ev.ID) > 255 || len(ev.Type) > 255 {
		return nil, errs.Invalid("body", "The signed body is not a Stripe event.")
	}
	// Explicit cross-account work: the rest runs in the account the path
	// names, as a request of that account would (db.InAccount).
	out := &Receipt{Received: true}
	err = db.InAccount(ctx, s.db, st.AccountID, func(ctx context.Context, tx bun.Tx) error {
		// One event of an account at a time: duplicates and events about
		// the same objects never race (SQLite's write lock does the same).
		if err := db.LockKey(ctx, tx, "crm.stripe."+strconv.FormatInt(st.AccountID, 10)); err != nil {
			return err
		}
		row := &eventRow{AccountID: st.AccountID, EventID: ev.ID, Type: string(ev.Type), Created: time.Unix(ev.Created, 0).UTC(),
			ReceivedAt: clock.Now(), Outcome: outcomeIgnored}
		res, err := tx.NewInsert().Model(row).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			prev := new(eventRow)
			if err := tx.NewSelect().Model(prev).Where("se.account_id = ?", st.AccountID).Where("se.event_id = ?", ev.ID).Scan(ctx); err != nil {
				return err
			}
			out.Duplicate, out.Outcome, out.Detail = true, prev.Outcome, prev.Detail
			return nil
		}
		r, err := s.apply(ctx, tx, &ev)
		if err != nil {
			return err
		}
		row.Outcome, row.Detail, row.WaitingFor = r.outcome, r.detail, r.waitingFor
		cols := []string{"outcome", "detail", "waiting_for"}
		if r.outcome == outcomeWaiting {
			p := string(payload) // a copy: the request's buffer is reused
			row.Payload = &p
			cols = append(cols, "payload")
		}
		if _, err := tx.NewUpdate().Model(row).Column(cols...).WherePK().Exec(ctx); err != nil {
			return err
		}
		out.Outcome, out.Detail = r.outcome, r.detail
		return s.release(ctx, tx, r.linked, 0)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// release applies the events that waited for a Stripe object now linked
// (a customer) or recorded (a payment intent), oldest first, in the same
// transaction. What they link in turn releases further events.
func (s *Service) release(ctx context.Context, tx bun.IDB, stripeID string, depth int) error {
	if stripeID == "" || depth > 4 {
		return nil
	}
	var waiting []eventRow
	q, err := tenant.Scope(ctx, tx.NewSelect().Model(&waiting).
		Where("se.outcome = ?", outcomeWaiting).Where("se.waiting_for = ?", stripeID).
		OrderExpr("se.created ASC, se.event_id ASC"))
	if err != nil {
		return err
	}
	if err := q.Scan(ctx); err != nil {
		return err
	}
	for i := range waiting {
		row := &waiting[i]
		if row.Payload == nil {
			continue
		}
		var ev stripego.Event
		if err := json.Unmarshal([]byte(*row.Payload), &ev); err != nil || ev.Data == nil {
			row.Outcome, row.Detail, row.WaitingFor, row.Payload = outcomeIgnored, "The stored event does not decode.", "", nil
		} else {
			r, err := s.apply(ctx, tx, &ev)
			if err != nil {
				return err
			}
			row.Outcome, row.Detail, row.WaitingFor = r.outcome, r.detail, r.waitingFor
			if r.outcome != outcomeWaiting {
				row.Payload = nil
			}
			if r.linked != "" && r.linked != stripeID {
				if err := s.updateEvent(ctx, tx, row); err != nil {
					return err
				}
				if err := s.release(ctx, tx, r.linked, depth+1); err != nil {
					return err
				}
				continue
			}
		}
		if err := s.updateEvent(ctx, tx, row); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) updateEvent(ctx context.Context, tx bun.IDB, row *eventRow) error {
	q, err := tenant.Scope(ctx, tx.NewUpdate().Model(row).Column("outcome", "detail", "waiting_for", "payload").WherePK())
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx)
	return err
}

// apply dispatches an event by type. Types not handled are acknowledged.
func (s *Service) apply(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	switch ev.Type {
	case "customer.created", "customer.updated", "customer.deleted":
		return s.applyCustomer(ctx, tx, ev)
	case "payment_intent.succeeded", "payment_intent.payment_failed":
		return s.applyPaymentIntent(ctx, tx, ev)
	case "charge.refunded":
		return s.applyRefund(ctx, tx, ev)
	case "charge.dispute.created":
		return s.applyDispute(ctx, tx, ev)
	case "invoice.paid":
		return s.applyInvoice(ctx, tx, ev)
	}
	return ignored("Event type not handled."), nil
}

// decode reads the event's object into v.
func decode(ev *stripego.Event, v any) error {
	if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
		return errs.New(http.StatusBadRequest, "The event's object does not decode: "+err.Error())
	}
	return nil
}
