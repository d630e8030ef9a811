// Package identity is who signs in: employees, their sessions and tokens,
// login, logout and me, and the rules of who may manage which employee.
package identity

import (
	"strings"
	"unicode/utf8"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/db"
	"crm/platform/emailaddr"
	"crm/platform/errs"
	"crm/platform/journal"

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

// objectType names employees in the journal.
const objectType = "employee"

var errBadCredentials = errs.Unauthenticated("Invalid email or password.")

func validEmail(field, s string) (string, error) {
	e := emailaddr.Normalize(s)
	if e == "" {
		return "", errs.Invalid(field, "This field may not be blank.")
	}
	if p := emailaddr.Problem(e); p != "" {
		return "", errs.Invalid(field, p)
	}
	return e, nil
}

func validText(v *errs.Validation, field, s string, min, max int) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n < min {
		v.Add(field, "This field may not be blank.")
	} else if n > max {
		v.Add(field, "Ensure this field has no more than "+itoa(max)+" characters.")
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

var _ auth.Authenticator = (*Service)(nil)
