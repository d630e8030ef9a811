// Employees: who works in an account, and who may manage whom.

package identity

import (
	"context"
	"slices"
	"strings"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/journal"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// CreateOwner creates the super_admin of a new account. Deliberately
// cross-account: the CLI calls it inside the transaction that creates the
// account.
func (s *Service) CreateOwner(ctx context.Context, tx bun.IDB, accountID int64, accountName, email, password string) (int64, error) {
	var v errs.Validation
	em := field.Email(&v, "email", email, false)
	if err := v.Err(); err != nil {
		return 0, err
	}
	if err := checkPassword("password", password, em); err != nil {
		return 0, err
	}
	name := field.Text(&v, "name", accountName+" Admin", 1, 150, false)
	if err := v.Err(); err != nil {
		return 0, err
	}
	roles := s.authz.Policy().Roles()
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return 0, err
	}
	e := &Employee{AccountID: accountID, Email: em, Name: name, Role: roles[0], JobRole: "Owner", IsActive: true,
		Permissions: []string{}, PasswordHash: hash, DateJoined: clock.Now()}
	if err := insertEmployee(ctx, tx, e); err != nil {
		return 0, err
	}
	err = s.journal.Record(ctx, tx, journal.Entry{Action: journal.Create, ObjectType: journal.Employee, ObjectID: e.ID, AccountID: accountID, Object: e.view()})
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

var employeeOrdering = page.Ordering{
	Fields: map[string]string{"id": "e.id", "name": "e.name", "email": "e.email", "role": "e.role",
		"date_joined": "e.date_joined", "last_login": "e.last_login", "is_active": "e.is_active"},
	Default:  "-date_joined",
	TieBreak: "e.id",
}

// List returns a page of the account's employees.
func (s *Service) List(ctx context.Context, f ListFilter, r page.Request) (page.Result[EmployeeView], error) {
	q, err := authz.Visible(ctx, s.authz, "employees", db.Use(ctx, s.db).NewSelect().Model((*Employee)(nil)), ownRow(ctx))
	if err != nil {
		return page.Result[EmployeeView]{}, err
	}
	q = page.Equal(q, "e.role", f.Role)
	switch f.Status {
	case "":
	case "active":
		q = q.Where("e.is_active = ?", true)
	case "inactive":
		q = q.Where("e.is_active = ?", false)
	default:
		return page.Result[EmployeeView]{}, errs.Invalid("status", "Must be active or inactive.")
	}
	if f.Search != "" {
		pat := page.LikePattern(f.Search)
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where(`lower(e.name) LIKE ? ESCAPE '\'`, pat).WhereOr(`e.email LIKE ? ESCAPE '\'`, pat)
		})
	}
	employees, err := page.List[Employee](ctx, q, r, employeeOrdering)
	return page.Map(employees, (*Employee).view), err
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
	if err := db.One(ctx, q, forUpdate); err != nil {
		return nil, err
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
	name := field.Text(&v, "name", in.Name, 1, 150, false)
	email := field.Email(&v, "email", in.Email, false)
	if v.Has("email") {
		email = "" // as the password's check saw an invalid address
	}
	if err := addInvalid(&v, "password", checkPassword("password", in.Password, email)); err != nil {
		return nil, err
	}
	role := in.Role
	if role == "" {
		role = pol.Roles()[len(pol.Roles())-1]
	}
	if !pol.IsRole(role) {
		v.Add("role", "Must be one of: "+strings.Join(pol.Roles(), ", ")+".")
	}
	jobRole := field.Text(&v, "job_role", in.JobRole, 0, 150, false)
	phone := field.Text(&v, "phone_number", in.PhoneNumber, 0, 50, false)
	perms, perr := s.checkPermissions("permissions", in.Permissions)
	if err := addInvalid(&v, "permissions", perr); err != nil {
		return nil, err
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
		IsActive: active, Permissions: perms, PasswordHash: hash, DateJoined: clock.Now()}
	view := EmployeeView{}
	err = db.InTx(ctx, s.db, func(tx bun.Tx) error {
		if err := insertEmployee(ctx, tx, e); err != nil {
			return err
		}
		view = e.view()
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Create, ObjectType: journal.Employee, ObjectID: e.ID, Object: view})
	})
	if err != nil {
		return nil, err
	}
	return &view, nil
}

// UpdateInput is the fields a PATCH or PUT of an employee sends (absent:
// unchanged; null is refused before the service runs).
type UpdateInput struct {
	Name        field.Nullable[string]   `json:"name,omitempty" maxLength:"150" nullable:"false"`
	Email       field.Nullable[string]   `json:"email,omitempty" maxLength:"254" nullable:"false"`
	Role        field.Nullable[string]   `json:"role,omitempty" maxLength:"50" nullable:"false"`
	JobRole     field.Nullable[string]   `json:"job_role,omitempty" maxLength:"150" nullable:"false"`
	PhoneNumber field.Nullable[string]   `json:"phone_number,omitempty" maxLength:"50" nullable:"false"`
	IsActive    field.Nullable[bool]     `json:"is_active,omitempty" nullable:"false"`
	Permissions field.Nullable[[]string] `json:"permissions,omitempty" maxItems:"50" nullable:"false"`
	Password    field.Nullable[string]   `json:"password,omitempty" maxLength:"256" nullable:"false" doc:"Refused: use change_password."`
}

// profileFields are what an employee may change on their own row.
var profileFields = []string{"name", "job_role", "phone_number"}

// apply validates in and writes it over e; changed gets the columns whose
// value changes. Every failing field is reported at once.
func (in UpdateInput) apply(s *Service, e *Employee, changed map[string]bool) error {
	var v errs.Validation
	text := func(f field.Nullable[string], name string, min, max int, dst *string) {
		if n, ok := f.Need(&v, name, false); ok {
			if n = field.Text(&v, name, n, min, max, false); n != *dst && !v.Has(name) {
				*dst, changed[name] = n, true
			}
		}
	}
	text(in.Name, "name", 1, 150, &e.Name)
	text(in.JobRole, "job_role", 0, 150, &e.JobRole)
	text(in.PhoneNumber, "phone_number", 0, 50, &e.PhoneNumber)
	if em, ok := in.Email.Need(&v, "email", false); ok {
		if em = field.Email(&v, "email", em, false); em != e.Email && !v.Has("email") {
			e.Email, changed["email"] = em, true
		}
	}
	pol := s.authz.Policy()
	if r, ok := in.Role.Need(&v, "role", false); ok && r != e.Role {
		if !pol.IsRole(r) {
			v.Add("role", "Must be one of: "+strings.Join(pol.Roles(), ", ")+".")
		} else {
			e.Role, changed["role"] = r, true
		}
	}
	if a, ok := in.IsActive.Need(&v, "is_active", false); ok && a != e.IsActive {
		e.IsActive, changed["is_active"] = a, true
	}
	if names, ok := in.Permissions.Need(&v, "permissions", false); ok {
		perms, err := s.checkPermissions("permissions", names)
		if err != nil {
			return err
		}
		if !slices.Equal(perms, sortedCopy(e.Permissions)) {
			e.Permissions, changed["permissions"] = perms, true
		}
	}
	return v.Err()
}

// Update changes an employee. A field the caller may not change is 403 and
// nothing changes; sending back the current value is fine.
func (s *Service) Update(ctx context.Context, id int64, in UpdateInput) (*EmployeeView, error) {
	caller := auth.FromContext(ctx)
	if caller == nil {
		return nil, errs.Unauthenticated("")
	}
	if in.Password.Set {
		return nil, errs.Invalid("password", "Use POST /api/employees/{id}/change_password/ to change a password.")
	}
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
		changed := map[string]bool{}
		if err := in.apply(s, e, changed); err != nil {
			return err
		}
		if err := s.mayChange(ctx, caller, self, before.Role, e.Role, changed); err != nil {
			return err
		}
		view := e.view()
		out = &view
		if len(changed) == 0 {
			return nil
		}
		return s.saveEmployee(ctx, tx, e, before, changed)
	})
	return out, err
}

// saveEmployee writes the changed columns of e (before: its view before the
// change), revokes its sessions when it was deactivated, and journals it.
func (s *Service) saveEmployee(ctx context.Context, tx bun.Tx, e *Employee, before EmployeeView, changed map[string]bool) error {
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
	if before.IsActive && !e.IsActive {
		if err := revokeSessions(ctx, tx, e.AccountID, e.ID, ""); err != nil {
			return err
		}
	}
	if err := s.stale(ctx, tx, employeeKey(e.ID)); err != nil {
		return err
	}
	return s.recordUpdate(ctx, tx, before, e.view())
}

// recordUpdate journals an update as one event per kind of change: a role
// change, a permission change, a deactivation, and the other fields.
func (s *Service) recordUpdate(ctx context.Context, tx bun.IDB, before, after EmployeeView) error {
	diff := journal.Diff(map[string][2]any{
		"name": {before.Name, after.Name}, "email": {before.Email, after.Email}, "role": {before.Role, after.Role},
		"job_role": {before.JobRole, after.JobRole}, "phone_number": {before.PhoneNumber, after.PhoneNumber},
		"is_active": {before.IsActive, after.IsActive}, "permissions": {sortedCopy(before.Permissions), sortedCopy(after.Permissions)},
	})
	kinds := map[journal.Action]map[string]journal.Change{}
	for field, c := range diff {
		action := journal.Update
		switch {
		case field == "role":
			action = journal.RoleChange
		case field == "permissions":
			action = journal.PermissionChange
		case field == "is_active" && !after.IsActive:
			action = journal.Deactivate
		}
		if kinds[action] == nil {
			kinds[action] = map[string]journal.Change{}
		}
		kinds[action][field] = c
	}
	for _, action := range []journal.Action{journal.Update, journal.RoleChange, journal.PermissionChange, journal.Deactivate} {
		if len(kinds[action]) == 0 {
			continue
		}
		if err := s.journal.Record(ctx, tx, journal.Entry{Action: action, ObjectType: journal.Employee, ObjectID: after.ID,
			Changes: kinds[action], Object: after}); err != nil {
			return err
		}
	}
	return nil
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
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Deactivate, ObjectType: journal.Employee, ObjectID: e.ID,
			Changes: map[string]journal.Change{"is_active": {Old: true, New: false}}, Object: e.view()})
	})
}
