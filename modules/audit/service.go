// Package audit is the audit log: every write, login and logout recorded by
// the journal lands in audit_events in the transaction of the change, and
// the account's admins read it. Nobody changes or deletes an event.
package audit

import (
	"context"
	"strings"
	"time"

	"crm/platform/authz"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/page"

	"github.com/uptrace/bun"
)

// Service reads the caller's account's events.
type Service struct {
	db    *bun.DB
	authz *authz.Authorizer
}

// NewService builds the service.
func NewService(d *bun.DB, a *authz.Authorizer) *Service { return &Service{db: d, authz: a} }

// visible narrows q, a query of events, by the scope rule (no event is
// assigned to anybody, nor anybody's own).
func (s *Service) visible(ctx context.Context, q *bun.SelectQuery) (*bun.SelectQuery, error) {
	return authz.Visible(ctx, s.authz, "audit_events", q, authz.Conditions[*bun.SelectQuery]{})
}

// Filter narrows the list; zero values filter nothing.
type Filter struct {
	Actor      int64
	ObjectType string
	ObjectID   int64
	Action     string
	Since      string // RFC 3339, inclusive
	Until      string // RFC 3339, inclusive
}

var ordering = page.Ordering{
	Fields: map[string]string{"at": "ae.at", "id": "ae.id", "action": "ae.action", "object_type": "ae.object_type",
		"object_id": "ae.object_id", "actor": "ae.actor_id"},
	Default:  "-at",
	TieBreak: "ae.id",
}

func parseTime(v *errs.Validation, field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		v.Add(field, "Must be an RFC 3339 time, e.g. 2025-01-01T10:00:00Z.")
		return time.Time{}
	}
	return t.UTC()
}

// List returns a page of the account's events, newest first by default.
func (s *Service) List(ctx context.Context, f Filter, r page.Request) (page.Result[EventView], error) {
	var v errs.Validation
	since := parseTime(&v, "since", f.Since)
	until := parseTime(&v, "until", f.Until)
	if !since.IsZero() && !until.IsZero() && since.After(until) {
		v.Add("until", "Must not be before since.")
	}
	if err := v.Err(); err != nil {
		return page.Result[EventView]{}, err
	}
	q, err := s.visible(ctx, db.Use(ctx, s.db).NewSelect().Model((*Event)(nil)))
	if err != nil {
		return page.Result[EventView]{}, err
	}
	q = page.Equal(page.Equal(q, "ae.actor_id", f.Actor), "ae.object_type", f.ObjectType)
	q = page.Equal(page.Equal(q, "ae.object_id", f.ObjectID), "ae.action", f.Action)
	if !since.IsZero() {
		q = q.Where("ae.at >= ?", since)
	}
	if !until.IsZero() {
		q = q.Where("ae.at <= ?", until)
	}
	events, err := page.List[Event](ctx, q, r, ordering)
	return page.Map(events, (*Event).view), err
}

// Get returns one event the caller can read; any other (another
// account's included) is 404.
func (s *Service) Get(ctx context.Context, id int64) (*EventView, error) {
	ev := new(Event)
	q, err := s.visible(ctx, db.Use(ctx, s.db).NewSelect().Model(ev).Where("ae.id = ?", id))
	if err != nil {
		return nil, err
	}
	if err := db.One(ctx, q, false); err != nil {
		return nil, err
	}
	v := ev.view()
	return &v, nil
}
