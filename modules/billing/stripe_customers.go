package billing

import (
	"context"
	"net/http"

	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/journal"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// StripeCustomerInput is a Stripe customer's writable fields as a request
// sends them: absent, null or a value.
type StripeCustomerInput struct {
	Client           field.Nullable[int64]  `json:"client,omitempty" doc:"Required on POST and PUT: a client of the account the caller may read."`
	StripeCustomerID field.Nullable[string] `json:"stripe_customer_id,omitempty" doc:"Required on POST and PUT: at most 255 characters without spaces, unique in the account."`
	Email            field.Nullable[string] `json:"email,omitempty" doc:"An email address, or empty (the default); stored in lower case."`
	Status           field.Nullable[string] `json:"status,omitempty" doc:"active (the default) or inactive."`
}

// StripeCustomerFilter holds the list filters.
type StripeCustomerFilter struct {
	Client int64
	Status string
}

var stripeCustomerOrdering = page.Ordering{
	Fields: map[string]string{
		"id": "sc.id", "client": "sc.client_id", "stripe_customer_id": "sc.stripe_customer_id", "email": "sc.email",
		"status": "sc.status", "created_at": "sc.created_at", "updated_at": "sc.updated_at",
	},
	Default:  "-created_at",
	TieBreak: "sc.id",
}

// apply validates in and writes it over c; full (POST, PUT) requires the
// required fields. The client is checked by the caller.
func (in StripeCustomerInput) apply(v *errs.Validation, c *StripeCustomer, full bool) {
	if id, ok := in.Client.Need(v, "client", full); ok {
		c.ClientID = id
	}
	if id, ok := in.StripeCustomerID.Need(v, "stripe_customer_id", full); ok {
		if c.StripeCustomerID = token(v, "stripe_customer_id", id); c.StripeCustomerID == "" {
			v.Add("stripe_customer_id", msgBlank)
		}
	}
	if in.Email.Set {
		c.Email = field.Email(v, "email", in.Email.Value, true)
	}
	if st, ok := in.Status.Need(v, "status", false); ok {
		c.Status = field.Choice(v, "status", st, StripeCustomerStatuses)
	}
}

// applyStripeCustomer validates in over c, old the row before (nil on
// create), with its client when that changes: one the caller may use.
func (s *Service) applyStripeCustomer(ctx context.Context, idb bun.IDB, c, old *StripeCustomer, in StripeCustomerInput, full bool) error {
	var v errs.Validation
	in.apply(&v, c, full)
	if old == nil || c.ClientID != old.ClientID {
		if err := s.checkClient(ctx, idb, &v, "client", c.ClientID); err != nil {
			return err
		}
	}
	return v.Err()
}

func errCustomerTaken() *errs.Error {
	const msg = "A Stripe customer with this stripe_customer_id already exists."
	return &errs.Error{Status: http.StatusConflict, Detail: msg, Fields: map[string][]string{"stripe_customer_id": {msg}}}
}

// checkCustomerID refuses a stripe_customer_id another row of the account
// already has.
func checkCustomerID(ctx context.Context, idb bun.IDB, c *StripeCustomer) error {
	return refuseTaken(ctx, idb.NewSelect().Model((*StripeCustomer)(nil)).
		Where("sc.stripe_customer_id = ?", c.StripeCustomerID).Where("sc.id <> ?", c.ID), errCustomerTaken())
}

// ListStripeCustomers returns a page of the Stripe customers the caller can
// read that match f.
func (s *Service) ListStripeCustomers(ctx context.Context, f StripeCustomerFilter, r page.Request) (page.Result[StripeCustomer], error) {
	q, err := s.visible(ctx, db.Use(ctx, s.db).NewSelect().Model((*StripeCustomer)(nil)), "stripe_customers")
	if err != nil {
		return page.Result[StripeCustomer]{}, err
	}
	q = page.Equal(page.Equal(q, "sc.client_id", f.Client), "sc.status", f.Status)
	return page.List[StripeCustomer](ctx, q, r, stripeCustomerOrdering)
}

// GetStripeCustomer returns one Stripe customer the caller can read.
func (s *Service) GetStripeCustomer(ctx context.Context, id int64) (*StripeCustomer, error) {
	c := new(StripeCustomer)
	if err := s.load(ctx, db.Use(ctx, s.db), c, "stripe_customers", id, "read"); err != nil {
		return nil, err
	}
	return c, nil
}

// CreateStripeCustomer links a client to a Stripe customer.
func (s *Service) CreateStripeCustomer(ctx context.Context, in StripeCustomerInput) (*StripeCustomer, error) {
	return create(ctx, s.db, func(accountID int64) *StripeCustomer {
		return &StripeCustomer{AccountID: accountID, Status: "active"}
	}, func(tx bun.Tx, c *StripeCustomer) error {
		if err := s.applyStripeCustomer(ctx, tx, c, nil, in, true); err != nil {
			return err
		}
		return s.insertStripeCustomer(ctx, tx, c)
	})
}

// insertStripeCustomer writes a new, validated Stripe customer, unless its
// stripe_customer_id is taken, and journals it.
func (s *Service) insertStripeCustomer(ctx context.Context, tx bun.IDB, c *StripeCustomer) error {
	if err := checkCustomerID(ctx, tx, c); err != nil {
		return err
	}
	return s.insert(ctx, tx, c, journal.StripeCustomer, errCustomerTaken())
}

// UpdateStripeCustomer changes a Stripe customer the caller can read:
// replace (PUT) sets every field as a create would; otherwise (PATCH) only
// the fields sent.
func (s *Service) UpdateStripeCustomer(ctx context.Context, id int64, in StripeCustomerInput, replace bool) (*StripeCustomer, error) {
	var out *StripeCustomer
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		old := new(StripeCustomer)
		if err := s.load(ctx, tx, old, "stripe_customers", id, "update"); err != nil {
			return err
		}
		c := *old
		if replace {
			c = StripeCustomer{ID: old.ID, AccountID: old.AccountID, Status: "active", CreatedAt: old.CreatedAt}
		}
		if err := s.applyStripeCustomer(ctx, tx, &c, old, in, replace); err != nil {
			return err
		}
		out = old
		changed, err := s.saveStripeCustomer(ctx, tx, old, &c)
		if changed {
			out = &c
		}
		return err
	})
	return out, err
}

// saveStripeCustomer writes c, validated, over old, unless its changed
// stripe_customer_id is taken, and journals the change. It reports false,
// writing nothing, when c changes nothing.
func (s *Service) saveStripeCustomer(ctx context.Context, tx bun.IDB, old, c *StripeCustomer) (bool, error) {
	diff := journal.Changes(old.fields(), c.fields())
	if len(diff) == 0 {
		return false, nil
	}
	if _, ok := diff["stripe_customer_id"]; ok {
		if err := checkCustomerID(ctx, tx, c); err != nil {
			return false, err
		}
	}
	c.UpdatedAt = clock.Now()
	if err := update(ctx, tx, c, "client_id", "stripe_customer_id", "email", "status", "updated_at"); err != nil {
		return false, writeError(err, errCustomerTaken())
	}
	return true, s.journal.Record(ctx, tx, journal.Entry{Action: journal.Update, ObjectType: journal.StripeCustomer, ObjectID: c.ID, Changes: diff, Object: c})
}

// DeleteStripeCustomer removes a Stripe customer the caller can read.
func (s *Service) DeleteStripeCustomer(ctx context.Context, id int64) error {
	return db.InTx(ctx, s.db, func(tx bun.Tx) error {
		c := new(StripeCustomer)
		if err := s.load(ctx, tx, c, "stripe_customers", id, "delete"); err != nil {
			return err
		}
		q, err := tenant.Scope(ctx, tx.NewDelete().Model((*StripeCustomer)(nil)).Where("sc.id = ?", c.ID))
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Delete, ObjectType: journal.StripeCustomer, ObjectID: c.ID, Changes: journal.Changes(c.fields(), nil)})
	})
}
