// Package catalog is what an account sells: its packages, and the client
// packages that sell one to a client (price, schedule, dates). Packages are
// read by everybody in the account; a client package is read by whoever may
// read its client.
package catalog

import (
	"context"
	"net/http"

	"crm/platform/access"
	"crm/platform/authz"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/journal"
	"crm/platform/money"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// Service holds the rules about packages and client packages.
type Service struct {
	db      *bun.DB
	authz   *authz.Authorizer
	clients access.Clients
	journal *journal.Journal
}

// NewService builds the service.
func NewService(d *bun.DB, a *authz.Authorizer, c access.Clients, j *journal.Journal) *Service {
	return &Service{db: d, authz: a, clients: c, journal: j}
}

// ---------------------------------------------------------------- packages

// PackageInput is a package's writable fields as a request sends them.
type PackageInput struct {
	PackageName field.Nullable[string] `json:"package_name,omitempty" doc:"Required on POST and PUT; 1 to 150 characters."`
	Description field.Nullable[string] `json:"description,omitempty" doc:"At most 10,000 characters; null is the same as empty."`
}

func (in PackageInput) apply(p *Package, full bool) error {
	var v errs.Validation
	if name, ok := in.PackageName.Need(&v, "package_name", full); ok {
		p.PackageName = field.Text(&v, "package_name", name, 1, maxName, false)
	}
	if in.Description.Set {
		p.Description = field.Text(&v, "description", in.Description.Value, 0, maxDescription, true)
	}
	return v.Err()
}

var packageOrdering = page.Ordering{
	Fields:   map[string]string{"id": "pkg.id", "package_name": "pkg.package_name", "created_at": "pkg.created_at", "updated_at": "pkg.updated_at"},
	Default:  "package_name",
	TieBreak: "pkg.id",
}

// ListPackages returns a page of the account's packages; search matches a
// substring of the name, whatever its case.
func (s *Service) ListPackages(ctx context.Context, search string, r page.Request) (page.Result[Package], error) {
	q, err := authz.Visible(ctx, s.authz, "packages", db.Use(ctx, s.db).NewSelect().Model((*Package)(nil)), authz.Conditions[*bun.SelectQuery]{})
	if err != nil {
		return page.Result[Package]{}, err
	}
	if search != "" {
		q = q.Where(`lower(pkg.package_name) LIKE ? ESCAPE '\'`, page.LikePattern(search))
	}
	return page.List[Package](ctx, q, r, packageOrdering)
}

// loadPackage returns package id by the scope rule: 404 when the caller
// cannot read it; for any action but read, 403 when they may not do it.
func (s *Service) loadPackage(ctx context.Context, idb bun.IDB, id int64, action string) (*Package, error) {
	p := new(Package)
	q, err := authz.Visible(ctx, s.authz, "packages", idb.NewSelect().Model(p).Where("pkg.id = ?", id), authz.Conditions[*bun.SelectQuery]{})
	if err != nil {
		return nil, err
	}
	if err := db.One(ctx, q, action != "read"); err != nil {
		return nil, err
	}
	if action != "read" {
		return p, s.authz.Allow(ctx, "packages", action, authz.Tie{})
	}
	return p, nil
}

// GetPackage returns one package of the account.
func (s *Service) GetPackage(ctx context.Context, id int64) (*Package, error) {
	return s.loadPackage(ctx, db.Use(ctx, s.db), id, "read")
}

// CreatePackage adds a package to the caller's account.
func (s *Service) CreatePackage(ctx context.Context, in PackageInput) (*Package, error) {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return nil, err
	}
	p := &Package{AccountID: accountID}
	if err := in.apply(p, true); err != nil {
		return nil, err
	}
	err = db.InTx(ctx, s.db, func(tx bun.Tx) error {
		p.CreatedAt = clock.Now()
		p.UpdatedAt = p.CreatedAt
		if _, err := tx.NewInsert().Model(p).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Create, ObjectType: journal.Package, ObjectID: p.ID,
			Changes: journal.Changes(nil, p.fields()), Object: p})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// UpdatePackage changes a package: replace (PUT) sets every field as a
// create would; otherwise (PATCH) only the fields sent.
func (s *Service) UpdatePackage(ctx context.Context, id int64, in PackageInput, replace bool) (*Package, error) {
	var out *Package
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		old, err := s.loadPackage(ctx, tx, id, "update")
		if err != nil {
			return err
		}
		p := *old
		if replace {
			p.Description = ""
		}
		if err := in.apply(&p, replace); err != nil {
			return err
		}
		diff := journal.Changes(old.fields(), p.fields())
		if len(diff) == 0 {
			out = old
			return nil
		}
		p.UpdatedAt = clock.Now()
		q, err := tenant.Scope(ctx, tx.NewUpdate().Model(&p).Column("package_name", "description", "updated_at").WherePK())
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		out = &p
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Update, ObjectType: journal.Package, ObjectID: p.ID, Changes: diff, Object: &p})
	})
	return out, err
}

func errPackageInUse(cause error) error {
	return errs.Wrap(http.StatusConflict, "This package is used by client packages: delete or move them first.", cause)
}

// DeletePackage removes a package that no client package uses (409 while
// one does, and nothing is deleted).
func (s *Service) DeletePackage(ctx context.Context, id int64) error {
	return db.InTx(ctx, s.db, func(tx bun.Tx) error {
		p, err := s.loadPackage(ctx, tx, id, "delete")
		if err != nil {
			return err
		}
		used, err := tenant.Scope(ctx, tx.NewSelect().Model((*ClientPackage)(nil)).Where("cp.package_id = ?", p.ID))
		if err != nil {
			return err
		}
		if inUse, err := used.Exists(ctx); err != nil {
			return err
		} else if inUse {
			return errPackageInUse(nil)
		}
		q, err := tenant.Scope(ctx, tx.NewDelete().Model((*Package)(nil)).Where("pkg.id = ?", p.ID))
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			if db.Classify(err) == db.KindForeignKey {
				return errPackageInUse(err)
			}
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Delete, ObjectType: journal.Package, ObjectID: p.ID,
			Changes: journal.Changes(p.fields(), nil)})
	})
}

// ---------------------------------------------------------------- client packages

// visible narrows q, a query of client packages, by the scope rule: a
// client package is assigned to the caller when they can read its client.
func (s *Service) visible(ctx context.Context, q *bun.SelectQuery) (*bun.SelectQuery, error) {
	return authz.Visible(ctx, s.authz, "client_packages", q, authz.OfClients(ctx, s.clients, "cp.client_id"))
}

// ClientPackageInput is a client package's writable fields as a request
// sends them: absent, null or a value.
type ClientPackageInput struct {
	Client               field.Nullable[int64]        `json:"client,omitempty" doc:"Required on POST and PUT: a client of the account the caller may read. It cannot change afterwards."`
	Package              field.Nullable[int64]        `json:"package,omitempty" doc:"Required on POST and PUT: a package of the account."`
	CustomPrice          field.Nullable[money.Amount] `json:"custom_price,omitempty" doc:"Required on POST and PUT."`
	MonthlyPaymentAmount field.Nullable[money.Amount] `json:"monthly_payment_amount,omitempty" doc:"Or null (the default)."`
	PaymentSchedule      field.Nullable[string]       `json:"payment_schedule,omitempty" doc:"Required on POST and PUT: PIF, Monthly, Quarterly or Yearly."`
	StartDate            field.Nullable[field.Date]   `json:"start_date,omitempty" doc:"Required on POST and PUT (YYYY-MM-DD)."`
	EndDate              field.Nullable[field.Date]   `json:"end_date,omitempty" doc:"YYYY-MM-DD, not before start_date, or null (the default)."`
	Status               field.Nullable[string]       `json:"status,omitempty" doc:"active (the default) or inactive."`
}

// ClientPackageFilter holds the list filters (zero values filter nothing).
type ClientPackageFilter struct {
	Client          int64
	Package         int64
	Status          string
	PaymentSchedule string
}

var clientPackageOrdering = page.Ordering{
	Fields: map[string]string{
		"id": "cp.id", "client": "cp.client_id", "package": "cp.package_id", "custom_price": "cp.custom_price_cents",
		"monthly_payment_amount": "cp.monthly_payment_amount_cents", "payment_schedule": "cp.payment_schedule",
		"start_date": "cp.start_date", "end_date": "cp.end_date", "status": "cp.status",
		"created_at": "cp.created_at", "updated_at": "cp.updated_at",
	},
	Default:  "-created_at",
	TieBreak: "cp.id",
}

// apply validates in and writes it over cp; old is the row before (nil on
// create). full (POST, PUT) requires the required fields. References are
// checked only when they change; every failing field is reported at once.
func (s *Service) apply(ctx context.Context, idb bun.IDB, cp, old *ClientPackage, in ClientPackageInput, full bool) error {
	var v errs.Validation
	if id, ok := in.Client.Need(&v, "client", full); ok {
		cp.ClientID = id
	}
	if id, ok := in.Package.Need(&v, "package", full); ok {
		cp.PackageID = id
	}
	if a, ok := in.CustomPrice.Need(&v, "custom_price", full); ok {
		cp.CustomPrice = a
	}
	if in.MonthlyPaymentAmount.Set {
		cp.MonthlyPaymentAmount = in.MonthlyPaymentAmount.Ptr()
	}
	if sch, ok := in.PaymentSchedule.Need(&v, "payment_schedule", full); ok {
		cp.PaymentSchedule = field.Choice(&v, "payment_schedule", sch, PaymentSchedules)
	}
	if d, ok := in.StartDate.Need(&v, "start_date", full); ok {
		cp.StartDate = d
	}
	if in.EndDate.Set {
		cp.EndDate = in.EndDate.Ptr()
	}
	if st, ok := in.Status.Need(&v, "status", false); ok {
		cp.Status = field.Choice(&v, "status", st, ClientPackageStatuses)
	}
	if cp.EndDate != nil && !cp.StartDate.IsZero() && cp.EndDate.Before(cp.StartDate) {
		v.Add("end_date", "Ensure the end date is not before the start date.")
	}
	if old != nil && cp.ClientID != old.ClientID && !v.Has("client") {
		return errs.Forbidden("The client of a client package cannot be changed: create a new client package instead.")
	}
	if old == nil || cp.ClientID != old.ClientID {
		if err := field.Ref(&v, "client", cp.ClientID, func(id int64) (bool, error) {
			return authz.ClientReadable(ctx, s.clients, idb, id)
		}); err != nil {
			return err
		}
	}
	if old == nil || cp.PackageID != old.PackageID {
		if err := field.Ref(&v, "package", cp.PackageID, func(id int64) (bool, error) {
			q, err := tenant.Scope(ctx, idb.NewSelect().Model((*Package)(nil)).Where("pkg.id = ?", id))
			if err != nil {
				return false, err
			}
			return q.Exists(ctx)
		}); err != nil {
			return err
		}
	}
	return v.Err()
}

// ListClientPackages returns a page of the client packages the caller can
// read that match f.
func (s *Service) ListClientPackages(ctx context.Context, f ClientPackageFilter, r page.Request) (page.Result[ClientPackage], error) {
	q, err := s.visible(ctx, db.Use(ctx, s.db).NewSelect().Model((*ClientPackage)(nil)))
	if err != nil {
		return page.Result[ClientPackage]{}, err
	}
	q = page.Equal(page.Equal(q, "cp.client_id", f.Client), "cp.package_id", f.Package)
	q = page.Equal(page.Equal(q, "cp.status", f.Status), "cp.payment_schedule", f.PaymentSchedule)
	return page.List[ClientPackage](ctx, q, r, clientPackageOrdering)
}

// loadClientPackage returns client package id by the scope rule: 404 when
// the caller cannot read it; for any action but read, 403 when they may not
// do it.
func (s *Service) loadClientPackage(ctx context.Context, idb bun.IDB, id int64, action string) (*ClientPackage, error) {
	cp := new(ClientPackage)
	q, err := s.visible(ctx, idb.NewSelect().Model(cp).Where("cp.id = ?", id))
	if err != nil {
		return nil, err
	}
	if err := db.One(ctx, q, action != "read"); err != nil || action == "read" {
		return cp, err
	}
	t, err := authz.ClientTie(ctx, s.clients, idb, cp.ClientID)
	if err != nil {
		return nil, err
	}
	return cp, s.authz.Allow(ctx, "client_packages", action, t)
}

// GetClientPackage returns one client package the caller can read.
func (s *Service) GetClientPackage(ctx context.Context, id int64) (*ClientPackage, error) {
	return s.loadClientPackage(ctx, db.Use(ctx, s.db), id, "read")
}

// writeError maps a constraint error the checks before a write should have
// prevented (a client or package deleted meanwhile).
func writeError(err error) error {
	if db.Classify(err) == db.KindForeignKey {
		return errs.Wrap(http.StatusBadRequest, "The client or the package does not exist.", err)
	}
	return err
}

// CreateClientPackage sells a package to a client.
func (s *Service) CreateClientPackage(ctx context.Context, in ClientPackageInput) (*ClientPackage, error) {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return nil, err
	}
	cp := &ClientPackage{AccountID: accountID, Status: "active"}
	err = db.InTx(ctx, s.db, func(tx bun.Tx) error {
		if err := s.apply(ctx, tx, cp, nil, in, true); err != nil {
			return err
		}
		cp.CreatedAt = clock.Now()
		cp.UpdatedAt = cp.CreatedAt
		if _, err := tx.NewInsert().Model(cp).Returning("id").Exec(ctx); err != nil {
			return writeError(err)
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Create, ObjectType: journal.ClientPackage, ObjectID: cp.ID,
			Changes: journal.Changes(nil, cp.fields()), Object: cp})
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// UpdateClientPackage changes a client package the caller can read: replace
// (PUT) sets every field as a create would; otherwise (PATCH) only the
// fields sent. The client cannot change (403).
func (s *Service) UpdateClientPackage(ctx context.Context, id int64, in ClientPackageInput, replace bool) (*ClientPackage, error) {
	var out *ClientPackage
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		old, err := s.loadClientPackage(ctx, tx, id, "update")
		if err != nil {
			return err
		}
		cp := *old
		if replace {
			cp = ClientPackage{ID: old.ID, AccountID: old.AccountID, Status: "active", CreatedAt: old.CreatedAt}
		}
		if err := s.apply(ctx, tx, &cp, old, in, replace); err != nil {
			return err
		}
		diff := journal.Changes(old.fields(), cp.fields())
		if len(diff) == 0 {
			out = old
			return nil
		}
		cp.UpdatedAt = clock.Now()
		q, err := tenant.Scope(ctx, tx.NewUpdate().Model(&cp).
			Column("package_id", "custom_price_cents", "monthly_payment_amount_cents", "payment_schedule",
				"start_date", "end_date", "status", "updated_at").
			WherePK())
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return writeError(err)
		}
		out = &cp
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Update, ObjectType: journal.ClientPackage, ObjectID: cp.ID, Changes: diff, Object: &cp})
	})
	return out, err
}

// DeleteClientPackage removes a client package the caller can read; while
// instalments refer to it, 409 and nothing is deleted.
func (s *Service) DeleteClientPackage(ctx context.Context, id int64) error {
	return db.InTx(ctx, s.db, func(tx bun.Tx) error {
		cp, err := s.loadClientPackage(ctx, tx, id, "delete")
		if err != nil {
			return err
		}
		q, err := tenant.Scope(ctx, tx.NewDelete().Model((*ClientPackage)(nil)).Where("cp.id = ?", cp.ID))
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			// The instalments are billing's: their foreign key answers.
			if db.Classify(err) == db.KindForeignKey {
				return errs.Wrap(http.StatusConflict, "Instalments refer to this client package: delete them first.", err)
			}
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Delete, ObjectType: journal.ClientPackage, ObjectID: cp.ID,
			Changes: journal.Changes(cp.fields(), nil)})
	})
}

// ClientOf returns the client of a client package of the caller's account,
// or 0 when the account has no such client package. Billing asks it
// (instalments name a client package of their client); cmd/crm binds it.
func (s *Service) ClientOf(ctx context.Context, idb bun.IDB, id int64) (int64, error) {
	var clientID int64
	q, err := tenant.Scope(ctx, idb.NewSelect().Model((*ClientPackage)(nil)).Column("cp.client_id").Where("cp.id = ?", id))
	if err != nil {
		return 0, err
	}
	if err := q.Scan(ctx, &clientID); err != nil {
		if db.IsNoRows(err) {
			return 0, nil
		}
		return 0, err
	}
	return clientID, nil
}
