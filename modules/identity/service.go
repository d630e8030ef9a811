// Package identity is who signs in: employees, their sessions and tokens,
// login, logout and me, and the rules of who may manage which employee.
package identity

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/db"
	"crm/platform/emailaddr"
	"crm/platform/errs"
	"crm/platform/httpx"
	"crm/platform/journal"
	"crm/platform/tenant"

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

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

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

// ---------------------------------------------------------------- sessions

// Authenticate loads the caller of a verified token: the session must be
// live and the employee active. Role and permissions are current: the
// principal comes from the cache (principals.go), which every change drops,
// or from the database.
func (s *Service) Authenticate(ctx context.Context, c *auth.Claims) (*auth.Principal, error) {
	t := now()
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
	t := now()
	ip := httpx.ClientIP(ctx)
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
		LoginFailures.Add(1)
		// Recorded in the account of the email when it is an employee's,
		// else in no account (a row no tenant ever lists).
		failed := journal.Entry{Action: "login_failed", ObjectType: objectType,
			Changes: map[string]journal.Change{"email": {Old: nil, New: email}}}
		if found {
			failed.AccountID, failed.ObjectID = e.AccountID, e.ID
		}
		if err := db.InTx(ctx, s.owner.DB, func(tx bun.Tx) error { return s.journal.Record(ctx, tx, failed) }); err != nil {
			return nil, err
		}
		return nil, errBadCredentials
	}
	var res *LoginResult
	err = db.InTx(ctx, s.owner.DB, func(tx bun.Tx) error {
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
		return s.journal.Record(ctx, tx, journal.Entry{Action: "login", ObjectType: objectType, ObjectID: e.ID,
			AccountID: e.AccountID, ActorID: e.ID, At: t, Object: e.view()})
	})
	if err != nil {
		// The right password, and no session (the database failed or was
		// too slow): not a failed attempt either.
		return nil, s.unreserve(ctx, reserved, err)
	}
	return res, nil
}

// Logout revokes the caller's session.
func (s *Service) Logout(ctx context.Context) error {
	p := auth.FromContext(ctx)
	if p == nil {
		return errs.Unauthenticated("")
	}
	return s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		q, err := tenant.Scope(ctx, tx.NewUpdate().Model((*Session)(nil)).Set("revoked_at = ?", now()).Where("s.id = ?", p.SessionID))
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if err := s.stale(ctx, tx, sessionKey(p.SessionID)); err != nil {
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: "logout", ObjectType: objectType, ObjectID: p.EmployeeID})
	})
}

// revokeSessions revokes the employee's live sessions, all but keep.
func revokeSessions(ctx context.Context, tx bun.IDB, accountID, employeeID int64, keep string) error {
	q := tx.NewUpdate().Model((*Session)(nil)).Set("revoked_at = ?", now()).
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

// ---------------------------------------------------------------- employees

// CreateOwner creates the super_admin of a new account. Deliberately
// cross-account: the CLI calls it inside the transaction that creates the
// account.
func (s *Service) CreateOwner(ctx context.Context, tx bun.IDB, accountID int64, accountName, email, password string) (int64, error) {
	var v errs.Validation
	em, err := validEmail("email", email)
	if err != nil {
		return 0, err
	}
	if err := checkPassword("password", password, em); err != nil {
		return 0, err
	}
	name := validText(&v, "name", accountName+" Admin", 1, 150)
	if err := v.Err(); err != nil {
		return 0, err
	}
	roles := s.authz.Policy().Roles()
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return 0, err
	}
	e := &Employee{AccountID: accountID, Email: em, Name: name, Role: roles[0], JobRole: "Owner", IsActive: true,
		Permissions: []string{}, PasswordHash: hash, DateJoined: now()}
	if err := insertEmployee(ctx, tx, e); err != nil {
		return 0, err
	}
	err = s.journal.Record(ctx, tx, journal.Entry{Action: "create", ObjectType: objectType, ObjectID: e.ID, AccountID: accountID, Object: e.view()})
	return e.ID, err
}

func insertEmployee(ctx context.Context, tx bun.IDB, e *Employee) error {
	if _, err := tx.NewInsert().Model(e).Returning("id").Exec(ctx); err != nil {
		if db.Classify(err) == db.KindUnique {
			return errs.Conflict("An employee with this email already exists.")
		}
		return err
	}
	return nil
}

// EmployeesOf returns which of ids are employees of the caller's account,
// read with idb (the caller's transaction, or the db). The clients module
// asks it of a client's coach, closer and setter.
func (s *Service) EmployeesOf(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]bool, error) {
	found := map[int64]bool{}
	if len(ids) == 0 {
		return found, nil
	}
	q, err := tenant.Scope(ctx, idb.NewSelect().Model((*Employee)(nil)).Column("e.id").Where("e.id IN (?)", bun.List(ids)))
	if err != nil {
		return nil, err
	}
	var rows []int64
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, err
	}
	for _, id := range rows {
		found[id] = true
	}
	return found, nil
}

// ListFilter are the list's filters.
type ListFilter struct {
	Role   string
	Status string
	Search string
}

var employeeOrdering = httpx.Ordering{
	Fields: map[string]string{"id": "e.id", "name": "e.name", "email": "e.email", "role": "e.role",
		"date_joined": "e.date_joined", "last_login": "e.last_login", "is_active": "e.is_active"},
	Default:  "-date_joined",
	TieBreak: "e.id",
}

// List returns a page of the account's employees.
func (s *Service) List(ctx context.Context, f ListFilter, p *httpx.ListParams) (*httpx.PageOutput[EmployeeView], error) {
	q, err := authz.Visible(ctx, s.authz, "employees", db.Use(ctx, s.db).NewSelect().Model((*Employee)(nil)), ownRow(ctx))
	if err != nil {
		return nil, err
	}
	if f.Role != "" {
		q = q.Where("e.role = ?", f.Role)
	}
	switch f.Status {
	case "":
	case "active":
		q = q.Where("e.is_active = ?", true)
	case "inactive":
		q = q.Where("e.is_active = ?", false)
	default:
		return nil, errs.Invalid("status", "Must be active or inactive.")
	}
	if f.Search != "" {
		pat := httpx.LikePattern(f.Search)
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where(`lower(e.name) LIKE ? ESCAPE '\'`, pat).WhereOr(`e.email LIKE ? ESCAPE '\'`, pat)
		})
	}
	page, err := httpx.List[Employee](ctx, q, p, employeeOrdering)
	if err != nil {
		return nil, err
	}
	out := &httpx.PageOutput[EmployeeView]{Body: httpx.Page[EmployeeView]{Count: page.Body.Count, Next: page.Body.Next, Previous: page.Body.Previous, Results: make([]EmployeeView, len(page.Body.Results))}}
	for i := range page.Body.Results {
		out.Body.Results[i] = page.Body.Results[i].view()
	}
	return out, nil
}

// ownRow is the employees table's condition for the scope rule: an
// employee's own row is theirs.
func ownRow(ctx context.Context) authz.Conditions[*bun.SelectQuery] {
	return authz.Conditions[*bun.SelectQuery]{Own: func(q *bun.SelectQuery) (*bun.SelectQuery, error) {
		p := auth.FromContext(ctx)
		if p == nil {
			return q.Where("1 = 0"), nil
		}
		return q.Where("e.id = ?", p.EmployeeID), nil
	}}
}

// get loads an employee the caller can read; any other id (another
// account's included) is 404.
func (s *Service) get(ctx context.Context, idb bun.IDB, id int64, forUpdate bool) (*Employee, error) {
	e := new(Employee)
	q, err := authz.Visible(ctx, s.authz, "employees", idb.NewSelect().Model(e).Where("e.id = ?", id), ownRow(ctx))
	if err != nil {
		return nil, err
	}
	if found, err := db.First(ctx, q, forUpdate); err != nil {
		return nil, err
	} else if !found {
		return nil, errs.NotFound()
	}
	return e, nil
}

// Get returns one employee of the account.
func (s *Service) Get(ctx context.Context, id int64) (*EmployeeView, error) {
	e, err := s.get(ctx, db.Use(ctx, s.db), id, false)
	if err != nil {
		return nil, err
	}
	v := e.view()
	return &v, nil
}

// CreateInput is a new employee.
type CreateInput struct {
	Name        string
	Email       string
	Password    string
	Role        string
	JobRole     string
	PhoneNumber string
	IsActive    *bool
	Permissions []string
}

func (s *Service) checkPermissions(field string, names []string) ([]string, error) {
	pol := s.authz.Policy()
	out := []string{}
	var unknown []string
	for _, n := range names {
		if !pol.IsPermission(n) {
			unknown = append(unknown, n)
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(unknown) > 0 {
		e := errs.Invalid(field, "Unknown permission(s): "+strings.Join(unknown, ", ")+". Known: "+strings.Join(pol.Permissions(), ", ")+".")
		e.Extra = map[string]any{"known": pol.Permissions()}
		return nil, e
	}
	slices.Sort(out)
	return out, nil
}

// Create adds an employee to the caller's account. The caller may only give
// roles up to their own rank.
func (s *Service) Create(ctx context.Context, in CreateInput) (*EmployeeView, error) {
	caller := auth.FromContext(ctx)
	accountID, err := tenant.Account(ctx)
	if err != nil || caller == nil {
		return nil, errs.Unauthenticated("")
	}
	pol := s.authz.Policy()
	var v errs.Validation
	name := validText(&v, "name", in.Name, 1, 150)
	email, err := validEmail("email", in.Email)
	if err != nil {
		v.Add("email", err.(*errs.Error).Fields["email"][0])
	}
	if err := checkPassword("password", in.Password, email); err != nil {
		v.Add("password", err.(*errs.Error).Fields["password"][0])
	}
	role := in.Role
	if role == "" {
		role = pol.Roles()[len(pol.Roles())-1]
	}
	if !pol.IsRole(role) {
		v.Add("role", "Must be one of: "+strings.Join(pol.Roles(), ", ")+".")
	}
	jobRole := validText(&v, "job_role", in.JobRole, 0, 150)
	phone := validText(&v, "phone_number", in.PhoneNumber, 0, 50)
	perms, perr := s.checkPermissions("permissions", in.Permissions)
	if perr != nil {
		v.Add("permissions", perr.(*errs.Error).Fields["permissions"][0])
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !pol.Manages(caller.Role, role) {
		return nil, errs.Forbidden("You may not create an employee with the role " + role + ".")
	}
	if len(perms) > 0 && s.authz.Allow(ctx, "employees", "update_permissions", authz.Tie{}) != nil {
		return nil, errs.Forbidden("You may not grant permissions.")
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return nil, err
	}
	active := in.IsActive == nil || *in.IsActive
	e := &Employee{AccountID: accountID, Email: email, Name: name, Role: role, JobRole: jobRole, PhoneNumber: phone,
		IsActive: active, Permissions: perms, PasswordHash: hash, DateJoined: now()}
	view := EmployeeView{}
	err = db.InTx(ctx, s.db, func(tx bun.Tx) error {
		if err := insertEmployee(ctx, tx, e); err != nil {
			return err
		}
		view = e.view()
		return s.journal.Record(ctx, tx, journal.Entry{Action: "create", ObjectType: objectType, ObjectID: e.ID, Object: view})
	})
	if err != nil {
		return nil, err
	}
	return &view, nil
}

// UpdateInput holds the fields a PATCH or PUT sent (nil = absent).
type UpdateInput struct {
	Name        *string
	Email       *string
	Role        *string
	JobRole     *string
	PhoneNumber *string
	IsActive    *bool
	Permissions *[]string
	Password    *string
}

// profileFields are what an employee may change on their own row.
var profileFields = []string{"name", "job_role", "phone_number"}

// Update changes an employee. A field the caller may not change is 403 and
// nothing changes; sending back the current value is fine.
func (s *Service) Update(ctx context.Context, id int64, in UpdateInput) (*EmployeeView, error) {
	caller := auth.FromContext(ctx)
	if caller == nil {
		return nil, errs.Unauthenticated("")
	}
	if in.Password != nil {
		return nil, errs.Invalid("password", "Use POST /api/employees/{id}/change_password/ to change a password.")
	}
	pol := s.authz.Policy()
	var out *EmployeeView
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		e, err := s.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		self := e.ID == caller.EmployeeID
		if err := s.authz.Allow(ctx, "employees", "update", authz.Tie{Own: self}); err != nil {
			return err
		}
		before := e.view()
		var v errs.Validation
		changed := map[string]bool{}
		if in.Name != nil {
			if n := validText(&v, "name", *in.Name, 1, 150); n != e.Name {
				e.Name, changed["name"] = n, true
			}
		}
		if in.JobRole != nil {
			if n := validText(&v, "job_role", *in.JobRole, 0, 150); n != e.JobRole {
				e.JobRole, changed["job_role"] = n, true
			}
		}
		if in.PhoneNumber != nil {
			if n := validText(&v, "phone_number", *in.PhoneNumber, 0, 50); n != e.PhoneNumber {
				e.PhoneNumber, changed["phone_number"] = n, true
			}
		}
		if in.Email != nil {
			em, err := validEmail("email", *in.Email)
			if err != nil {
				v.Add("email", err.(*errs.Error).Fields["email"][0])
			} else if em != e.Email {
				e.Email, changed["email"] = em, true
			}
		}
		oldRole := e.Role
		if in.Role != nil && *in.Role != e.Role {
			if !pol.IsRole(*in.Role) {
				v.Add("role", "Must be one of: "+strings.Join(pol.Roles(), ", ")+".")
			} else {
				e.Role, changed["role"] = *in.Role, true
			}
		}
		wasActive := e.IsActive
		if in.IsActive != nil && *in.IsActive != e.IsActive {
			e.IsActive, changed["is_active"] = *in.IsActive, true
		}
		if in.Permissions != nil {
			perms, err := s.checkPermissions("permissions", *in.Permissions)
			if err != nil {
				return err
			}
			if !slices.Equal(perms, sortedCopy(e.Permissions)) {
				e.Permissions, changed["permissions"] = perms, true
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := s.mayChange(ctx, caller, self, oldRole, e.Role, changed); err != nil {
			return err
		}
		if len(changed) == 0 {
			view := e.view()
			out = &view
			return nil
		}
		cols := make([]string, 0, len(changed))
		for c := range changed {
			cols = append(cols, c)
		}
		if _, err := tx.NewUpdate().Model(e).Column(cols...).WherePK().Where("account_id = ?", e.AccountID).Exec(ctx); err != nil {
			if db.Classify(err) == db.KindUnique {
				return errs.Conflict("An employee with this email already exists.")
			}
			return err
		}
		if wasActive && !e.IsActive {
			if err := revokeSessions(ctx, tx, e.AccountID, e.ID, ""); err != nil {
				return err
			}
		}
		if err := s.stale(ctx, tx, employeeKey(e.ID)); err != nil {
			return err
		}
		view := e.view()
		out = &view
		return s.recordUpdate(ctx, tx, before, view)
	})
	return out, err
}

// recordUpdate journals an update as one event per kind of change: a role
// change, a permission change, a deactivation, and the other fields.
func (s *Service) recordUpdate(ctx context.Context, tx bun.IDB, before, after EmployeeView) error {
	diff := journal.Diff(map[string][2]any{
		"name": {before.Name, after.Name}, "email": {before.Email, after.Email}, "role": {before.Role, after.Role},
		"job_role": {before.JobRole, after.JobRole}, "phone_number": {before.PhoneNumber, after.PhoneNumber},
		"is_active": {before.IsActive, after.IsActive}, "permissions": {sortedCopy(before.Permissions), sortedCopy(after.Permissions)},
	})
	kinds := map[string]map[string]journal.Change{}
	for field, c := range diff {
		action := "update"
		switch {
		case field == "role":
			action = "role_change"
		case field == "permissions":
			action = "permission_change"
		case field == "is_active" && !after.IsActive:
			action = "deactivate"
		}
		if kinds[action] == nil {
			kinds[action] = map[string]journal.Change{}
		}
		kinds[action][field] = c
	}
	for _, action := range []string{"update", "role_change", "permission_change", "deactivate"} {
		if len(kinds[action]) == 0 {
			continue
		}
		if err := s.journal.Record(ctx, tx, journal.Entry{Action: action, ObjectType: objectType, ObjectID: after.ID,
			Changes: kinds[action], Object: after}); err != nil {
			return err
		}
	}
	return nil
}

// mayChange applies the role table to a set of changed fields of an
// employee the caller may update (Allow): an Own scope changes the profile
// fields of their own row only; a wider one, employees of the caller's rank
// or below.
func (s *Service) mayChange(ctx context.Context, caller *auth.Principal, self bool, oldRole, newRole string, changed map[string]bool) error {
	if len(changed) == 0 {
		return nil
	}
	pol := s.authz.Policy()
	if s.authz.ScopeFor(ctx, "employees", "update") != authz.All {
		for f := range changed {
			if !slices.Contains(profileFields, f) {
				return errs.Forbidden("You may not change the field " + f + ".")
			}
		}
		return nil
	}
	if !pol.Manages(caller.Role, oldRole) {
		return errs.Forbidden("You may not change an employee whose role is above yours.")
	}
	if changed["role"] {
		if self {
			return errs.Forbidden("You may not change your own role.")
		}
		if !pol.Manages(caller.Role, newRole) {
			return errs.Forbidden("You may not give the role " + newRole + ".")
		}
	}
	if changed["is_active"] && self {
		return errs.Forbidden("You may not deactivate yourself.")
	}
	if changed["permissions"] {
		if self {
			return errs.Forbidden("You may not change your own permissions.")
		}
		if s.authz.Allow(ctx, "employees", "update_permissions", authz.Tie{}) != nil {
			return errs.Forbidden("You may not grant permissions.")
		}
	}
	return nil
}

func sortedCopy(s []string) []string {
	c := append([]string{}, s...)
	slices.Sort(c)
	return c
}

// Deactivate is DELETE: the employee can no longer sign in and every session
// of theirs is revoked; references to them stay.
func (s *Service) Deactivate(ctx context.Context, id int64) error {
	caller := auth.FromContext(ctx)
	return s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		e, err := s.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.authz.Allow(ctx, "employees", "delete", authz.Tie{Own: e.ID == caller.EmployeeID}); err != nil {
			return err
		}
		if e.ID == caller.EmployeeID {
			return errs.Forbidden("You may not delete or deactivate yourself.")
		}
		if !s.authz.Policy().Manages(caller.Role, e.Role) {
			return errs.Forbidden("You may not delete an employee whose role is above yours.")
		}
		if _, err := tx.NewUpdate().Model((*Employee)(nil)).Set("is_active = ?", false).Where("id = ?", e.ID).Where("account_id = ?", e.AccountID).Exec(ctx); err != nil {
			return err
		}
		if err := revokeSessions(ctx, tx, e.AccountID, e.ID, ""); err != nil {
			return err
		}
		if err := s.stale(ctx, tx, employeeKey(e.ID)); err != nil {
			return err
		}
		if !e.IsActive {
			return nil // already inactive: nothing changed
		}
		e.IsActive = false
		return s.journal.Record(ctx, tx, journal.Entry{Action: "deactivate", ObjectType: objectType, ObjectID: e.ID,
			Changes: map[string]journal.Change{"is_active": {Old: true, New: false}}, Object: e.view()})
	})
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
		return s.journal.Record(ctx, tx, journal.Entry{Action: "password_change", ObjectType: objectType, ObjectID: e.ID, Object: e.view()})
	})
}

// UpdatePermissions replaces the employee's granular permissions.
func (s *Service) UpdatePermissions(ctx context.Context, id int64, names []string) (*EmployeeView, error) {
	caller := auth.FromContext(ctx)
	perms, err := s.checkPermissions("permissions", names)
	if err != nil {
		return nil, err
	}
	var out *EmployeeView
	err = s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		e, err := s.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.authz.Allow(ctx, "employees", "update_permissions", authz.Tie{Own: e.ID == caller.EmployeeID}); err != nil {
			return err
		}
		if e.ID == caller.EmployeeID {
			return errs.Forbidden("You may not change your own permissions.")
		}
		if !s.authz.Policy().Manages(caller.Role, e.Role) {
			return errs.Forbidden("You may not change the permissions of an employee whose role is above yours.")
		}
		old := sortedCopy(e.Permissions)
		e.Permissions = perms
		if _, err := tx.NewUpdate().Model(e).Column("permissions").WherePK().Where("account_id = ?", e.AccountID).Exec(ctx); err != nil {
			return err
		}
		if err := s.stale(ctx, tx, employeeKey(e.ID)); err != nil {
			return err
		}
		v := e.view()
		out = &v
		changes := journal.Diff(map[string][2]any{"permissions": {old, perms}})
		if len(changes) == 0 {
			return nil
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: "permission_change", ObjectType: objectType, ObjectID: e.ID,
			Changes: changes, Object: v})
	})
	return out, err
}

var _ auth.Authenticator = (*Service)(nil)
