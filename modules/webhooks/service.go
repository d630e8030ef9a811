// Package webhooks sends the account's changes to the URLs it registers:
// endpoints (with a signing secret shown once), an outbox written by a
// journal sink in the transaction of each change, a delivery worker with
// retries, and the delivery log with redelivery.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"

	"crm/platform/authz"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// Service holds the rules about endpoints and their deliveries. The routes
// allow super_admins and admins only (policies/webhooks.csv).
type Service struct {
	db    *bun.DB
	authz *authz.Authorizer
	guard *guard
	sink  *Sink
}

// NewService builds the service.
func NewService(d *bun.DB, a *authz.Authorizer, g *guard, s *Sink) *Service {
	return &Service{db: d, authz: a, guard: g, sink: s}
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// EndpointInput is an endpoint's writable fields as a request sends them
// (absent: unchanged on update; null is refused before the service runs).
type EndpointInput struct {
	URL         field.Nullable[string]   `json:"url,omitempty" maxLength:"2000" nullable:"false"`
	EventTypes  field.Nullable[[]string] `json:"event_types,omitempty" maxItems:"50" nullable:"false"`
	Enabled     field.Nullable[bool]     `json:"enabled,omitempty" nullable:"false"`
	Description field.Nullable[string]   `json:"description,omitempty" maxLength:"10000" nullable:"false"`
}

func checkEventTypes(types []string) ([]string, string) {
	if len(types) == 0 {
		return nil, "Give at least one event type (or \"*\" for all)."
	}
	out := []string{}
	var unknown []string
	for _, t := range types {
		t = strings.TrimSpace(t)
		if t != "*" && !slices.Contains(EventTypes, t) {
			unknown = append(unknown, t)
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(unknown) > 0 {
		return nil, "Unknown event type(s): " + strings.Join(unknown, ", ") + ". Known: " + strings.Join(EventTypes, ", ") + ", or \"*\" for all."
	}
	if slices.Contains(out, "*") {
		return []string{"*"}, ""
	}
	slices.Sort(out)
	return out, ""
}

// validate applies in to e, collecting every failing field; full (create)
// requires url and event_types.
func (s *Service) validate(ctx context.Context, e *Endpoint, in EndpointInput, full bool) error {
	var v errs.Validation
	if raw, ok := in.URL.Need(&v, "url", full); ok {
		u, err := s.guard.checkURL(ctx, raw)
		if err != nil {
			msg := err.Error()
			if err == errPrivate {
				msg = "The URL may not point to a private, loopback, link-local or reserved address."
			}
			v.Add("url", msg)
		} else {
			e.URL = u
		}
	}
	if list, ok := in.EventTypes.Need(&v, "event_types", full); ok {
		types, msg := checkEventTypes(list)
		if msg != "" {
			v.Add("event_types", msg)
		} else {
			e.EventTypes = types
		}
	}
	if d, ok := in.Description.Need(&v, "description", false); ok {
		d = strings.TrimSpace(d)
		if utf8.RuneCountInString(d) > 10000 {
			v.Add("description", "Ensure this field has no more than 10000 characters.")
		}
		e.Description = d
	}
	if on, ok := in.Enabled.Need(&v, "enabled", false); ok {
		e.Enabled = on
	}
	return v.Err()
}

// Create registers an endpoint; the view carries the secret, this once.
func (s *Service) Create(ctx context.Context, in EndpointInput) (*EndpointView, error) {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return nil, err
	}
	t := clock.Now()
	e := &Endpoint{AccountID: accountID, Enabled: true, Secret: newSecret(), CreatedAt: t, UpdatedAt: t}
	if err := s.validate(ctx, e, in, true); err != nil {
		return nil, err
	}
	if _, err := db.Use(ctx, s.db).NewInsert().Model(e).Returning("id").Exec(ctx); err != nil {
		return nil, err
	}
	view := e.view()
	view.Secret = e.Secret
	return &view, nil
}

// get loads endpoint id by the scope rule: 404 when the caller cannot read
// it (another account's included); for any action but read, 403 when they
// may not do it.
func (s *Service) get(ctx context.Context, idb bun.IDB, id int64, action string) (*Endpoint, error) {
	e := new(Endpoint)
	q, err := authz.Visible(ctx, s.authz, object, idb.NewSelect().Model(e).Where("we.id = ?", id), authz.Conditions[*bun.SelectQuery]{})
	if err != nil {
		return nil, err
	}
	if err := db.One(ctx, q, false); err != nil {
		return nil, err
	}
	if action != "read" {
		return e, s.authz.Allow(ctx, object, action, authz.Tie{})
	}
	return e, nil
}

// Get returns one endpoint (without its secret).
func (s *Service) Get(ctx context.Context, id int64) (*EndpointView, error) {
	e, err := s.get(ctx, db.Use(ctx, s.db), id, "read")
	if err != nil {
		return nil, err
	}
	v := e.view()
	return &v, nil
}

var endpointOrdering = page.Ordering{
	Fields:   map[string]string{"id": "we.id", "url": "we.url", "created_at": "we.created_at", "enabled": "we.enabled"},
	Default:  "-created_at",
	TieBreak: "we.id",
}

// List returns a page of the account's endpoints.
func (s *Service) List(ctx context.Context, r page.Request) (page.Result[EndpointView], error) {
	q, err := authz.Visible(ctx, s.authz, object, db.Use(ctx, s.db).NewSelect().Model((*Endpoint)(nil)), authz.Conditions[*bun.SelectQuery]{})
	if err != nil {
		return page.Result[EndpointView]{}, err
	}
	endpoints, err := page.List[Endpoint](ctx, q, r, endpointOrdering)
	return page.Map(endpoints, (*Endpoint).view), err
}

// Update changes the fields sent.
func (s *Service) Update(ctx context.Context, id int64, in EndpointInput) (*EndpointView, error) {
	var out *EndpointView
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		e, err := s.get(ctx, tx, id, "update")
		if err != nil {
			return err
		}
		if err := s.validate(ctx, e, in, false); err != nil {
			return err
		}
		e.UpdatedAt = clock.Now()
		if _, err := tx.NewUpdate().Model(e).Column("url", "event_types", "enabled", "description", "updated_at").
			WherePK().Where("account_id = ?", e.AccountID).Exec(ctx); err != nil {
			return err
		}
		v := e.view()
		out = &v
		return nil
	})
	return out, err
}

// Delete removes an endpoint and its delivery log.
func (s *Service) Delete(ctx context.Context, id int64) error {
	return db.InTx(ctx, s.db, func(tx bun.Tx) error {
		e, err := s.get(ctx, tx, id, "delete")
		if err != nil {
			return err
		}
		_, err = tx.NewDelete().Model(e).WherePK().Where("account_id = ?", e.AccountID).Exec(ctx)
		return err
	})
}

var deliveryOrdering = page.Ordering{
	Fields:   map[string]string{"id": "wd.id", "created_at": "wd.created_at", "status": "wd.status", "attempts": "wd.attempts"},
	Default:  "-created_at",
	TieBreak: "wd.id",
}

// Deliveries returns a page of an endpoint's delivery log.
func (s *Service) Deliveries(ctx context.Context, endpointID int64, status, eventType string, r page.Request) (page.Result[DeliveryView], error) {
	idb := db.Use(ctx, s.db)
	if _, err := s.get(ctx, idb, endpointID, "read"); err != nil {
		return page.Result[DeliveryView]{}, err
	}
	q, err := tenant.Scope(ctx, idb.NewSelect().Model((*Delivery)(nil)).Where("wd.endpoint_id = ?", endpointID))
	if err != nil {
		return page.Result[DeliveryView]{}, err
	}
	q = page.Equal(page.Equal(q, "wd.status", status), "wd.event_type", eventType)
	deliveries, err := page.List[Delivery](ctx, q, r, deliveryOrdering)
	return page.Map(deliveries, (*Delivery).view), err
}

// Redeliver queues a delivery again now, whatever its status, with a fresh
// retry window. A delivery being sent right now is a 409.
func (s *Service) Redeliver(ctx context.Context, endpointID, deliveryID int64) (*DeliveryView, error) {
	var out *DeliveryView
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		if _, err := s.get(ctx, tx, endpointID, "update"); err != nil {
			return err
		}
		d := new(Delivery)
		q, err := tenant.Scope(ctx, tx.NewSelect().Model(d).Where("wd.id = ?", deliveryID).Where("wd.endpoint_id = ?", endpointID))
		if err != nil {
			return err
		}
		if err := db.One(ctx, q, true); err != nil {
			return err
		}
		t := clock.Now()
		if d.Claim != nil && d.LockedUntil != nil && d.LockedUntil.After(t) {
			return errs.Conflict("This delivery is being sent right now; try again in a moment.")
		}
		d.Status, d.NextAttemptAt, d.GiveUpAt, d.DeliveredAt = StatusPending, t, t.Add(s.sink.retryFor), nil
		if _, err := tx.NewUpdate().Model(d).Column("status", "next_attempt_at", "give_up_at", "delivered_at").
			WherePK().Where("account_id = ?", d.AccountID).Exec(ctx); err != nil {
			return err
		}
		v := d.view()
		out = &v
		return nil
	})
	return out, err
}
