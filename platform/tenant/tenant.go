// Package tenant keeps the account of a request in its context and scopes
// every query of an account-owned table to it. It fails closed: a query built
// without an account in the context is an error, never an unscoped read.
package tenant

import (
	"context"
	"errors"
)

type ctxKey struct{}

// ErrNoAccount is returned when a tenant query runs without an account.
var ErrNoAccount = errors.New("tenant: no account in context")

// WithAccount returns ctx carrying the account. Only the auth middleware (for
// requests) and explicit cross-account code (the CLI) call it.
func WithAccount(ctx context.Context, accountID int64) context.Context {
	return context.WithValue(ctx, ctxKey{}, accountID)
}

// Account returns the account of ctx, or ErrNoAccount.
func Account(ctx context.Context) (int64, error) {
	id, ok := ctx.Value(ctxKey{}).(int64)
	if !ok || id <= 0 {
		return 0, ErrNoAccount
	}
	return id, nil
}

// Wherer is any Bun query with a Where method (select, update, delete).
type Wherer[Q any] interface {
	Where(query string, args ...any) Q
}

// Scope adds "account_id = ?" (qualified by the query's table alias) to q.
func Scope[Q Wherer[Q]](ctx context.Context, q Q) (Q, error) {
	id, err := Account(ctx)
	if err != nil {
		return q, err
	}
	return q.Where("?TableAlias.account_id = ?", id), nil
}
