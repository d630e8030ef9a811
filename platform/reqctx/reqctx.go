// Package reqctx carries what is known of the request that a piece of work
// serves (its id, the caller's address) in the context, so code below the
// HTTP layer (the journal, sign-in throttling) reads it without importing
// that layer. httpx sets it for every request; the CLI and tests may too.
package reqctx

import "context"

type key struct{}

type request struct{ id, ip string }

// With returns ctx carrying the request id and the caller's address.
func With(ctx context.Context, id, ip string) context.Context {
	return context.WithValue(ctx, key{}, request{id: id, ip: ip})
}

// ID is the request id in ctx, or "".
func ID(ctx context.Context) string { r, _ := ctx.Value(key{}).(request); return r.id }

// ClientIP is the caller's address in ctx, or "".
func ClientIP(ctx context.Context) string { r, _ := ctx.Value(key{}).(request); return r.ip }
