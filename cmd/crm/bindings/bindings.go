// Package bindings binds the interfaces one module asks of another to the
// module that answers them: for `crm` (cmd/crm's Modules) and for the tests
// that start part of the app, so both wire the modules the same way.
package bindings

import (
	"crm/modules/accounts"
	"crm/modules/billing"
	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity"
	"crm/modules/stripe"
	"crm/modules/webhooks"
	"crm/platform/access"

	"go.uber.org/fx"
)

// All is every binding. Fx builds a binding only when something asks for
// its interface, so an app of a few modules takes All too.
var All = fx.Options(
	// The account's first super_admin is an identity employee; identity
	// asks accounts for the name of a signed-in employee's account, and
	// clients asks identity which employees exist.
	fx.Provide(
		func(s *identity.Service) accounts.OwnerCreator { return s },
		func(n accounts.Names) identity.AccountNames { return n },
		func(s *identity.Service) clients.Employees { return s },
	),
	// Catalog and billing rows follow their client: they ask the clients
	// module which clients exist and which the caller reads; billing asks
	// the catalog which client a client package belongs to.
	fx.Provide(
		func(s *clients.Service) access.Clients { return s },
		func(s *catalog.Service) billing.ClientPackages { return s },
	),
	// Stripe in changes billing's rows through billing, and finds the
	// client an event names through the clients module; the overdue scan
	// of webhooks out has billing mark the instalments overdue.
	fx.Provide(
		func(s *billing.Service) stripe.Billing { return s },
		func(s *clients.Service) stripe.Clients { return s },
		func(s *billing.Service) webhooks.Instalments { return s },
	),
)
