// Sessions: sign-in, tokens, logout, me and passwords.

package identity

import (
	"context"
	"time"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/emailaddr"
	"crm/platform/errs"
	"crm/platform/journal"
	"crm/platform/reqctx"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// Authenticate loads the caller of a verified token: the session must be
// live and the employee active. Role and permissions are current: the
// principal comes from the cache (principals.go), which every change drops,
// or from the database.
func (s *Service) Authenticate(ctx context.Context, c *auth.Claims) (*auth.Principal, error) {
	t := clock.Now()
	p, gen := s.principals.get(c, t)
	if p != nil {
		return p, nil
	}
	var row struct {
		Employee
		AccountName    string    `bun:"account_name"`
		SessionExpires time.Time `bun:"session_expires"`
	}
	idb := db.Use(ctx, s.db)
	err := idb.NewSelect().
		Model((*Session)(nil)).
		Join("JOIN employees AS e ON e.id = s.employee_id AND e.account_id = s.account_id").
		ColumnExpr("e.id, e.account_id, e.email, e.name, e.role, e.permissions, e.is_active").
		ColumnExpr("(?) AS account_name, s.expires_at AS session_expires", s.accounts.NameOf(idb, bun.Ident("e.account_id"))).
		Where("s.id = ?", c.SessionID).
		Where("s.employee_id = ?", c.EmployeeID).
		Where("s.account_id = ?", c.AccountID).
		Where("s.revoked_at IS NULL").
		Where("s.expires_at > ?", t).
		Limit(1).
		Scan(ctx, &row)
	if err != nil {
		if db.IsNoRows(err) {
			return nil, errs.Unauthenticated("Invalid or expired token.")
		}
		return nil, err
	}
	if !row.IsActive {
		return nil, errs.Unauthenticated("Invalid or expired token.")
	}
	p = &auth.Principal{EmployeeID: row.ID, AccountID: row.AccountID, AccountName: row.AccountName, SessionID: c.SessionID,
		Email: row.Email, Name: row.Name, Role: row.Role, Permissions: row.Permissions}
	s.principals.put(p, row.SessionExpires, gen, t)
	return p, nil
}

// reserveTimeout bounds the counting of a login attempt and its release,
// which run apart from the request's time limit.
const reserveTimeout = 5 * time.Second

// unreserve releases the reservation of an attempt that the database failed
// (before its password was checked, or after a right one), and returns err:
// such an attempt is no failure. It runs past the request's time limit,
// which may be what ended it.
func (s *Service) unreserve(ctx context.Context, reserved []int64, err error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveTimeout)
	defer cancel()
	// Best effort: a reservation left behind counts as one failure and
	// leaves the window with it.
	_ = release(rctx, s.owner.DB, reserved)
	return err
}

// LoginResult is what login answers.
type LoginResult struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      LoginUser `json:"user"`
}

// LoginUser is the seed's user block of the login answer.
type LoginUser struct {
	ID          int64    `json:"id"`
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	AccountID   int64    `json:"account_id"`
	AccountName string   `json:"account_name"`
	Permissions []string `json:"permissions"`
}

// Login checks the credentials and opens a session. A wrong password, an
// unknown email and an inactive employee get the same answer, after the same
// password hash work.
func (s *Service) Login(ctx context.Context, email, password string) (*LoginResult, error) {
	email = emailaddr.Normalize(email)
	t := clock.Now()
	ip := reqctx.ClientIP(ctx)
	// The attempt waits for its turn at the hasher before it is counted: one
	// that the queue outlasts (a 503) checked no password and counts nothing.
	done, err := s.hasher.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	// Counted whatever the request's time limit does meanwhile: a
	// reservation committed while its caller gave up would be a failure
	// nobody made, and one never released.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveTimeout)
	reserved, err := reserve(rctx, s.owner.DB, email, ip, t)
	cancel()
	if err != nil {
		return nil, err
	}
	var e Employee
	// Login is by email across accounts: the one deliberate unscoped read,
	// as the owner (row-level security would hide every account's rows: no
	// request has set one yet). The session and the audit events are
	// written as the owner too, the failed login of no account's email
	// included.
	err = s.owner.NewSelect().Model(&e).Where("e.email = ?", email).Limit(1).Scan(ctx)
	if err != nil && !db.IsNoRows(err) {
		return nil, s.unreserve(ctx, reserved, err)
	}
	found := err == nil
	hash := ""
	if found {
		hash = e.PasswordHash
	}
	ok := s.hasher.compare(password, hash)
	done()
	if !found || !ok || !e.IsActive {
		return nil, s.loginFailed(ctx, email, found, &e)
	}
	res, err := s.openSession(ctx, &e, ip, t, reserved)
	if err != nil {
		// The right password, and no session (the database failed or was
		// too slow): not a failed attempt either.
		return nil, s.unreserve(ctx, reserved, err)
	}
	return res, nil
}

// loginFailed counts and journals a refused login of email (found: it is
// employee e's), and returns the one answer every refusal gets.
func (s *Service) loginFailed(ctx context.Context, email string, found bool, e *Employee) error {
	LoginFailures.Add(1)
	// Recorded in the account of the email when it is an employee's,
	// else in no account (a row no tenant ever lists).
	failed := journal.Entry{Action: journal.LoginFailed, ObjectType: journal.Employee,
		Changes: map[string]journal.Change{"email": {Old: nil, New: email}}}
	if found {
		failed.AccountID, failed.ObjectID = e.AccountID, e.ID
	}
	if err := db.InTx(ctx, s.owner.DB, func(tx bun.Tx) error { return s.journal.Record(ctx, tx, failed) }); err != nil {
		return err
	}
	return errBadCredentials
}

// openSession opens a session of e, who signed in at t from ip, releases
// the attempt's reservation and journals the login, in one transaction as
// the owner.
func (s *Service) openSession(ctx context.Context, e *Employee, ip string, t time.Time, reserved []int64) (*LoginResult, error) {
	var res *LoginResult
	err := db.InTx(ctx, s.owner.DB, func(tx bun.Tx) error {
		if err := release(ctx, tx, reserved); err != nil {
			return err
		}
		sess := &Session{ID: auth.NewSessionID(), AccountID: e.AccountID, EmployeeID: e.ID, CreatedAt: t, ExpiresAt: t.Add(s.signer.TTL()), IP: ip}
		if _, err := tx.NewInsert().Model(sess).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Employee)(nil)).Set("last_login = ?", t).Where("id = ?", e.ID).Exec(ctx); err != nil {
			return err
		}
		var accountName string
		if err := s.accounts.NameOf(tx, e.AccountID).Scan(ctx, &accountName); err != nil {
			return err
		}
		token, exp, err := s.signer.Sign(e.ID, e.AccountID, sess.ID, t)
		if err != nil {
			return err
		}
		res = &LoginResult{Token: token, ExpiresAt: exp, User: LoginUser{ID: e.ID, Email: e.Email, Name: e.Name, Role: e.Role,
			AccountID: e.AccountID, AccountName: accountName, Permissions: s.authz.Policy().Effective(e.Role, e.Permissions, e.AccountID)}}
		e.LastLogin = &t
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Login, ObjectType: journal.Employee, ObjectID: e.ID,
			AccountID: e.AccountID, ActorID: e.ID, At: t, Object: e.view()})
	})
	return res, err
}

// Logout revokes the caller's session.
func (s *Service) Logout(ctx context.Context) error {
	p := auth.FromContext(ctx)
	if p == nil {
		return errs.Unauthenticated("")
	}
	return s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		q, err := tenant.Scope(ctx, tx.NewUpdate().Model((*Session)(nil)).Set("revoked_at = ?", clock.Now()).Where("s.id = ?", p.SessionID))
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if err := s.stale(ctx, tx, sessionKey(p.SessionID)); err != nil {
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Logout, ObjectType: journal.Employee, ObjectID: p.EmployeeID})
	})
}

// revokeSessions revokes the employee's live sessions, all but keep.
func revokeSessions(ctx context.Context, tx bun.IDB, accountID, employeeID int64, keep string) error {
	q := tx.NewUpdate().Model((*Session)(nil)).Set("revoked_at = ?", clock.Now()).
		Where("s.account_id = ?", accountID).Where("s.employee_id = ?", employeeID).Where("s.revoked_at IS NULL")
	if keep != "" {
		q = q.Where("s.id <> ?", keep)
	}
	_, err := q.Exec(ctx)
	return err
}

// Me is the caller with their effective permissions.
type Me struct {
	ID          int64    `json:"id"`
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Account     int64    `json:"account"`
	AccountName string   `json:"account_name"`
	Permissions []string `json:"permissions" doc:"Effective permissions: granted ones and those the role already implies."`
}

// Me answers GET /api/auth/me/ from the principal (already read fresh).
func (s *Service) Me(ctx context.Context) (*Me, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, errs.Unauthenticated("")
	}
	return &Me{ID: p.EmployeeID, Email: p.Email, Name: p.Name, Role: p.Role, Account: p.AccountID, AccountName: p.AccountName,
		Permissions: s.authz.Policy().Effective(p.Role, p.Permissions, p.AccountID)}, nil
}

// ChangePassword sets a new password. On oneself the old password is
// required and every other session is revoked; an admin's reset of another
// employee revokes all of theirs.
func (s *Service) ChangePassword(ctx context.Context, id int64, oldPassword *string, newPassword string) error {
	caller := auth.FromContext(ctx)
	return s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		e, err := s.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		self := e.ID == caller.EmployeeID
		if err := s.authz.Allow(ctx, "employees", "change_password", authz.Tie{Own: self}); err != nil {
			return err
		}
		keep := ""
		if self {
			if oldPassword == nil || *oldPassword == "" {
				return errs.Invalid("old_password", "This field is required.")
			}
			if ok, err := s.hasher.Verify(ctx, *oldPassword, e.PasswordHash); err != nil {
				return err
			} else if !ok {
				return errs.Invalid("old_password", "Wrong password.")
			}
			keep = caller.SessionID
		} else if !s.authz.Policy().Manages(caller.Role, e.Role) {
			return errs.Forbidden("You may not change the password of an employee whose role is above yours.")
		}
		if err := checkPassword("new_password", newPassword, e.Email); err != nil {
			return err
		}
		hash, err := s.hasher.Hash(newPassword)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Employee)(nil)).Set("password_hash = ?", hash).Where("id = ?", e.ID).Where("account_id = ?", e.AccountID).Exec(ctx); err != nil {
			return err
		}
		if err := revokeSessions(ctx, tx, e.AccountID, e.ID, keep); err != nil {
			return err
		}
		if err := s.stale(ctx, tx, employeeKey(e.ID)); err != nil {
			return err
		}
		// No values: the event says that the password changed, never to what.
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.PasswordChange, ObjectType: journal.Employee, ObjectID: e.ID, Object: e.view()})
	})
}
