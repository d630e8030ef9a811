package db

import (
	"context"

	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// Owner is the database as the role that owns the tables, which row-level
// security lets through (the owner_all policy of migrations/rls). The API's
// own pool runs as the app role (Options.Role, crm_app by default), which
// sees and writes only the rows of the account its request set. Only the
// few paths that must cross accounts take an Owner: login (the email names
// the account), accounts create, the webhook worker, the overdue scan, the
// Stripe webhook's path-token lookup, the seeds and migrations. So the type
// shows every place that bypasses the guard.
//
// On SQLite (no row-level security) and with no app role, it is the app's
// pool itself; tenant.Scope is the guard there.
type Owner struct{ *bun.DB }

// InAccount runs fn in a transaction of d (the API's pool) in the account,
// as a request of that account runs: the context fn gets carries the account
// for tenant.Scope, and the transaction has it set for row-level security.
// System work for one account whose account is known (a Stripe event once
// its path token is looked up, an overdue instalment) stays under both
// guards. fn's error rolls it back. On SQLite it is a plain transaction.
func InAccount(ctx context.Context, d *bun.DB, accountID int64, fn func(ctx context.Context, tx bun.Tx) error) error {
	ctx = BeginRequest(tenant.WithAccount(ctx, accountID), d, accountID, false)
	err := InTx(ctx, d, func(tx bun.Tx) error { return fn(ctx, tx) })
	if cerr := EndRequest(ctx, err != nil); err == nil {
		err = cerr
	}
	return err
}
