package authz

import (
	"context"
	"sync/atomic"

	"crm/platform/access"
	"crm/platform/errs"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// The scope rule, the same for every object. What a caller can read is
// decided by their read scope on the object alone (Visible: the lists, and
// the row a route names, whatever its method). Any other action is asked only
// on a row they can read, by that action's own scope (Allow). So a row the
// caller cannot read does not exist for them, 404; a row they read but may
// not change is 403.

// Tie is how one row stands to the caller: what an Assigned or an Own scope
// asks of it (All covers every row of the account, None no row).
type Tie struct {
	// Own: the row is the caller's own (their employee row).
	Own bool
	// Assigned: the row is assigned to the caller: a client they coach,
	// close or set, or a row of a client they can read.
	Assigned bool
}

// Covers tells whether s reaches a row that stands to the caller as t.
func (s Scope) Covers(t Tie) bool {
	switch s {
	case All:
		return true
	case Assigned:
		return t.Assigned
	case Own:
		return t.Own
	}
	return false
}

// Conditions say, for one table, which rows an Assigned and an Own scope
// cover, as a condition added to a query of it. A nil condition covers no
// row.
type Conditions[Q any] struct {
	Assigned func(Q) (Q, error)
	Own      func(Q) (Q, error)
}

// Visible narrows q, a query of object's rows, to the caller's account and
// to the rows their read scope covers.
func Visible[Q tenant.Wherer[Q]](ctx context.Context, a *Authorizer, object string, q Q, c Conditions[Q]) (Q, error) {
	return Narrow(ctx, q, a.ScopeFor(ctx, object, "read"), c)
}

// Narrow narrows q to the caller's account and to the rows s covers: every
// row (All), those the table's conditions keep (Assigned, Own), none
// otherwise (fail closed). Visible is Narrow by the read scope; a caller
// that also needs the scope (to pick a query plan) reads it once and passes
// it here.
func Narrow[Q tenant.Wherer[Q]](ctx context.Context, q Q, s Scope, c Conditions[Q]) (Q, error) {
	q, err := tenant.Scope(ctx, q)
	if err != nil {
		return q, err
	}
	var cond func(Q) (Q, error)
	switch s {
	case All:
		return q, nil
	case Assigned:
		cond = c.Assigned
	case Own:
		cond = c.Own
	}
	if cond == nil {
		return q.Where("1 = 0"), nil
	}
	return cond(q)
}

// Row is the whole rule on one row of object the caller's account holds,
// loaded without Visible: 404 when the caller's read scope does not cover
// it, then, for any action but read, Allow.
func (a *Authorizer) Row(ctx context.Context, object, action string, t Tie) error {
	if !a.ScopeFor(ctx, object, "read").Covers(t) {
		return errs.NotFound()
	}
	if action == "read" {
		return nil
	}
	return a.Allow(ctx, object, action, t)
}

// Allow is the rule's second half, asked on a row the caller can read (or
// one they create): nil when their scope for action on object covers a row
// that stands to them as t, else 403.
func (a *Authorizer) Allow(ctx context.Context, object, action string, t Tie) error {
	if r, ok := ctx.Value(rowRouteKey{}).(*rowRoute); ok && r.object == object && r.action == action {
		r.asked.Store(true)
	}
	if !a.ScopeFor(ctx, object, action).Covers(t) {
		return errs.Forbidden("")
	}
	return nil
}

type rowRouteKey struct{}

// rowRoute is a route that changes the row its path names: its action is
// answered on that row, by Allow.
type rowRoute struct {
	object, action string
	asked          atomic.Bool
}

// OnRow marks ctx as serving a route that does action (not read) on the row
// of object its path names. The route's handler must ask Allow for that
// object and action; Asked tells afterwards whether it did.
func OnRow(ctx context.Context, object, action string) context.Context {
	return context.WithValue(ctx, rowRouteKey{}, &rowRoute{object: object, action: action})
}

// Asked tells whether the handler of a route marked OnRow asked Allow for its
// object and action (true for any other route).
func Asked(ctx context.Context) bool {
	r, ok := ctx.Value(rowRouteKey{}).(*rowRoute)
	return !ok || r.asked.Load()
}

// ---------------------------------------------------------------- rows of a client

// OfClients are the conditions of a table whose rows belong to a client
// (column: the client id, with the table's alias, "pay.client_id"): a row is
// assigned to the caller when they can read its client.
func OfClients(ctx context.Context, c access.Clients, column string) Conditions[*bun.SelectQuery] {
	return Conditions[*bun.SelectQuery]{Assigned: func(q *bun.SelectQuery) (*bun.SelectQuery, error) {
		sub, err := c.Readable(ctx)
		if err != nil || sub == nil {
			return q, err
		}
		return q.Where("? IN (?)", bun.Ident(column), sub), nil
	}}
}

// ClientTie is how a row of client id (a client of the caller's account:
// the client of a row just loaded) stands to the caller: assigned when they
// can read that client.
func ClientTie(ctx context.Context, c access.Clients, idb bun.IDB, id int64) (Tie, error) {
	sub, err := c.Readable(ctx)
	if err != nil || sub == nil {
		return Tie{Assigned: err == nil}, err
	}
	ok, err := idb.NewSelect().ColumnExpr("1").Where("? IN (?)", id, sub).Exists(ctx)
	return Tie{Assigned: ok}, err
}

// ClientReadable tells whether id is a client of the caller's account that
// they can read: what a client named in a body must be (any other id is
// "does not exist").
func ClientReadable(ctx context.Context, c access.Clients, idb bun.IDB, id int64) (bool, error) {
	if ok, err := c.Exists(ctx, idb, id); err != nil || !ok {
		return false, err
	}
	t, err := ClientTie(ctx, c, idb, id)
	return t.Assigned, err
}
