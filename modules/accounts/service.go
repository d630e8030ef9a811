// Package accounts is the tenant registry: the account a caller belongs to,
// read by everyone in it and updated by its super_admin. Accounts are created
// from the command line (Create), never through the tenant API.
package accounts

import (
	"context"
	"strings"
	"unicode/utf8"

	"crm/platform/authz"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/journal"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// Service reads and updates the caller's account.
type Service struct {
	db    *bun.DB
	authz *authz.Authorizer
	// owner creates accounts: no account is set while one is created.
	owner   db.Owner
	owners  OwnerCreator
	journal *journal.Journal
}

// OwnerCreator creates the first super_admin of a new account, inside the
// transaction that creates the account, and hears of a rename inside the
// transaction that makes it (the signed-in employees carry the account's
// name). The identity module is one; cmd/crm binds it.
type OwnerCreator interface {
	CreateOwner(ctx context.Context, tx bun.IDB, accountID int64, accountName, email, password string) (ownerID int64, err error)
	AccountRenamed(ctx context.Context, tx bun.IDB, accountID int64) error
}

// Names tells other modules the name of an account (identity: the account
// of a signed-in employee). It is a type apart from Service, which depends
// on the identity module: Names needs nothing.
type Names struct{}

// NameOf is the query of the name of the account accountID: a value, or a
// column of the caller's query (bun.Ident) to use it as a subquery there.
func (Names) NameOf(idb bun.IDB, accountID any) *bun.SelectQuery {
	return idb.NewSelect().Model((*Account)(nil)).ColumnExpr("a.name").Where("a.id = ?", accountID)
}

// NewService builds the service.
func NewService(d *bun.DB, a *authz.Authorizer, o db.Owner, owners OwnerCreator, j *journal.Journal) *Service {
	return &Service{db: d, authz: a, owner: o, owners: owners, journal: j}
}

// CreateWithOwner creates an account and its super_admin in one transaction.
// This is deliberate cross-account work, for the CLI (and tests standing in
// for it), so it runs as the database owner.
func (s *Service) CreateWithOwner(ctx context.Context, name, email, password string) (*Account, int64, error) {
	var acc *Account
	var owner int64
	err := s.owner.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if acc, err = Create(ctx, tx, name); err != nil {
			return err
		}
		if err := s.journal.Record(ctx, tx, journal.Entry{Action: journal.Create, ObjectType: journal.Account, ObjectID: acc.ID, AccountID: acc.ID, Object: acc}); err != nil {
			return err
		}
		owner, err = s.owners.CreateOwner(ctx, tx, acc.ID, acc.Name, email, password)
		return err
	})
	return acc, owner, err
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 150 {
		return "", errs.Invalid("name", "Name must be 1 to 150 characters.")
	}
	return name, nil
}

// Create adds an account row, inside the caller's transaction.
func Create(ctx context.Context, idb bun.IDB, name string) (*Account, error) {
	name, err := validName(name)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	a := &Account{Name: name, CreatedAt: now, UpdatedAt: now}
	if _, err := idb.NewInsert().Model(a).Returning("id").Exec(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// get returns account id by the scope rule: only the caller's own account
// exists for them (any other id is 404); for any action but read, 403 when
// they may not do it.
func (s *Service) get(ctx context.Context, idb bun.IDB, id int64, action string) (*Account, error) {
	own, err := tenant.Account(ctx)
	if err != nil {
		return nil, err
	}
	if id != own {
		return nil, errs.NotFound()
	}
	a := new(Account)
	if err := idb.NewSelect().Model(a).Where("a.id = ?", own).Scan(ctx); err != nil {
		if db.IsNoRows(err) {
			return nil, errs.NotFound()
		}
		return nil, err
	}
	return a, s.authz.Row(ctx, "accounts", action, authz.Tie{})
}

// List is the caller's own account, alone.
func (s *Service) List(ctx context.Context, r page.Request) (page.Result[Account], error) {
	// One row: the ordering orders nothing, but an unknown field is refused
	// as on every list.
	if _, err := ordering.SQL(r.Ordering); err != nil {
		return page.Result[Account]{}, err
	}
	own, err := tenant.Account(ctx)
	if err != nil {
		return page.Result[Account]{}, err
	}
	a, err := s.get(ctx, db.Use(ctx, s.db), own, "read")
	if err != nil {
		return page.Result[Account]{}, err
	}
	return page.Result[Account]{Rows: []Account{*a}, Count: 1, Request: r}, nil
}

var ordering = page.Ordering{Fields: map[string]string{"id": "id", "name": "name"}, Default: "id"}

// Get returns the caller's account by id.
func (s *Service) Get(ctx context.Context, id int64) (*Account, error) {
	return s.get(ctx, db.Use(ctx, s.db), id, "read")
}

// Update renames the caller's account (the policy allows super_admins only).
func (s *Service) Update(ctx context.Context, id int64, name *string) (*Account, error) {
	var out *Account
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		a, err := s.get(ctx, tx, id, "update")
		if err != nil {
			return err
		}
		old := a.Name
		if name != nil {
			n, err := validName(*name)
			if err != nil {
				return err
			}
			a.Name = n
		}
		a.UpdatedAt = clock.Now()
		if _, err := tx.NewUpdate().Model(a).Column("name", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		out = a
		changes := journal.Diff(map[string][2]any{"name": {old, a.Name}})
		if len(changes) == 0 {
			return nil
		}
		if err := s.owners.AccountRenamed(ctx, tx, a.ID); err != nil {
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Update, ObjectType: journal.Account, ObjectID: a.ID, Changes: changes, Object: a})
	})
	return out, err
}
