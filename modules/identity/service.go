// Package identity is who signs in: employees, their sessions and tokens,
// login, logout and me, and the rules of who may manage which employee.
package identity

import (
	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/journal"
	"errors"

	"github.com/uptrace/bun"
)

// AccountNames is what identity asks of the accounts module, which owns the
// accounts: the name of a signed-in employee's account. cmd/crm binds it.
type AccountNames interface {
	// NameOf is the query of the account's name; accountID is a value, or
	// a column of the caller's query when it is used as a subquery.
	NameOf(idb bun.IDB, accountID any) *bun.SelectQuery
}

// Service holds the rules about employees and sessions.
type Service struct {
	db *bun.DB
	// owner crosses accounts, for login alone (db.Owner).
	owner    db.Owner
	hasher   *Hasher
	signer   *auth.Signer
	authz    *authz.Authorizer
	journal  *journal.Journal
	accounts AccountNames
	// principals caches the callers of live sessions (principals.go).
	principals principals
}

// NewService builds the service.
func NewService(d *bun.DB, o db.Owner, h *Hasher, s *auth.Signer, a *authz.Authorizer, j *journal.Journal, n AccountNames) *Service {
	return &Service{db: d, owner: o, hasher: h, signer: s, authz: a, journal: j, accounts: n}
}

var errBadCredentials = errs.Unauthenticated("Invalid email or password.")

// addInvalid adds to v the message err gives for field name, when err is a
// validation error of that field; any other error is returned.
func addInvalid(v *errs.Validation, name string, err error) error {
	var e *errs.Error
	if err == nil {
		return nil
	}
	if errors.As(err, &e) && len(e.Fields[name]) > 0 {
		v.Add(name, e.Fields[name][0])
		return nil
	}
	return err
}

var _ auth.Authenticator = (*Service)(nil)
