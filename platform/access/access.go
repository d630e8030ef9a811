// Package access declares, once, what more than one module asks of another
// module; cmd/crm binds the module that answers. An interface that a single
// module needs is declared by that module instead (the Stripe module's
// Billing, the webhooks module's Instalments, ...).
package access

import (
	"context"

	"github.com/uptrace/bun"
)

// Clients is what a module whose rows belong to a client (catalog, billing)
// asks of the clients module; cmd/crm binds the clients service to it.
type Clients interface {
	// Readable is a subquery of the ids of the clients the caller may read,
	// or nil when the caller reads every client of the account.
	Readable(ctx context.Context) (*bun.SelectQuery, error)
	// Exists tells whether id is a client of the caller's account.
	Exists(ctx context.Context, idb bun.IDB, id int64) (bool, error)
}
