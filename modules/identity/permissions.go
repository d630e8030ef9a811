// Granular permissions: which exist, who may grant them.

package identity

import (
	"context"
	"slices"
	"strings"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/errs"
	"crm/platform/journal"

	"github.com/uptrace/bun"
)

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
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.PermissionChange, ObjectType: journal.Employee, ObjectID: e.ID,
			Changes: changes, Object: v})
	})
	return out, err
}
