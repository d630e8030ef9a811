package authz_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/errs"
	"crm/platform/tenant"
	"crm/policies"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
)

func TestCovers(t *testing.T) {
	none, own, assigned := authz.Tie{}, authz.Tie{Own: true}, authz.Tie{Assigned: true}
	for _, c := range []struct {
		scope authz.Scope
		tie   authz.Tie
		want  bool
	}{
		{authz.All, none, true}, {authz.All, own, true},
		{authz.Assigned, assigned, true}, {authz.Assigned, own, false}, {authz.Assigned, none, false},
		{authz.Own, own, true}, {authz.Own, assigned, false}, {authz.Own, none, false},
		{authz.None, authz.Tie{Own: true, Assigned: true}, false},
	} {
		if got := c.scope.Covers(c.tie); got != c.want {
			t.Errorf("%v covers %+v = %v, want %v", c.scope, c.tie, got, c.want)
		}
	}
}

type thing struct {
	bun.BaseModel `bun:"table:things,alias:t"`
	ID            int64
	AccountID     int64
	OwnerID       int64
}

// TestNarrow: a scope keeps the account's rows (All), the table's condition
// (Assigned, Own), or none at all, including when the table has no
// condition for it (fail closed); without an account it is an error.
func TestNarrow(t *testing.T) {
	d := bun.NewDB(nil, sqlitedialect.New())
	ctx := tenant.WithAccount(context.Background(), 7)
	cond := authz.Conditions[*bun.SelectQuery]{Own: func(q *bun.SelectQuery) (*bun.SelectQuery, error) { return q.Where("t.owner_id = 3"), nil }}
	for scope, want := range map[authz.Scope]string{
		authz.All:      `WHERE ("t".account_id = 7)`,
		authz.Own:      `WHERE ("t".account_id = 7) AND (t.owner_id = 3)`,
		authz.Assigned: `WHERE ("t".account_id = 7) AND (1 = 0)`,
		authz.None:     `WHERE ("t".account_id = 7) AND (1 = 0)`,
	} {
		q, err := authz.Narrow(ctx, d.NewSelect().Model((*thing)(nil)), scope, cond)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.String(); !strings.HasSuffix(got, want) {
			t.Errorf("%v: %s, want it to end with %s", scope, got, want)
		}
	}
	if _, err := authz.Narrow(context.Background(), d.NewSelect().Model((*thing)(nil)), authz.All, cond); !errors.Is(err, tenant.ErrNoAccount) {
		t.Fatalf("without an account: %v", err)
	}
}

// TestRowAndAllow: on one row, the read scope answers first (404), then
// the action's (403); without a caller nothing is allowed.
func TestRowAndAllow(t *testing.T) {
	a, err := authz.New(policies.FS, "")
	if err != nil {
		t.Fatal(err)
	}
	as := func(role string, perms ...string) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{EmployeeID: 5, AccountID: 1, Role: role, Permissions: perms})
	}
	status := func(err error) int {
		var e *errs.Error
		if err == nil {
			return http.StatusOK
		}
		if !errors.As(err, &e) {
			t.Fatalf("not an errs.Error: %v", err)
		}
		return e.Status
	}
	mine, other := authz.Tie{Assigned: true}, authz.Tie{}
	for _, c := range []struct {
		ctx    context.Context
		action string
		tie    authz.Tie
		want   int
	}{
		{as("employee"), "read", mine, 200},
		{as("employee"), "read", other, 404},
		{as("employee"), "update", other, 404},
		{as("employee"), "update", mine, 403},
		{as("employee", "manage_all_clients"), "update", other, 404},
		{as("employee", "manage_all_clients"), "delete", mine, 200},
		{as("employee", "view_all_clients"), "update", other, 403},
		{as("admin"), "delete", other, 200},
		{context.Background(), "read", mine, 404},
	} {
		if got := status(a.Row(c.ctx, "clients", c.action, c.tie)); got != c.want {
			t.Errorf("%v %s %+v = %d, want %d", auth.FromContext(c.ctx), c.action, c.tie, got, c.want)
		}
	}
	if got := status(a.Allow(context.Background(), "clients", "read", mine)); got != 403 {
		t.Errorf("Allow without a caller = %d, want 403", got)
	}
}
