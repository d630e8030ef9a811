package identity

import (
	"time"

	"github.com/uptrace/bun"
)

// Employee is a person who signs in: the user model of the CRM.
type Employee struct {
	bun.BaseModel `bun:"table:employees,alias:e"`

	ID           int64      `bun:",pk,autoincrement"`
	AccountID    int64      `bun:",notnull"`
	Email        string     `bun:",notnull"`
	Name         string     `bun:",notnull"`
	Role         string     `bun:",notnull"`
	JobRole      string     `bun:",notnull"`
	PhoneNumber  string     `bun:",notnull"`
	IsActive     bool       `bun:",notnull"`
	Permissions  []string   `bun:",notnull,type:text"`
	PasswordHash string     `bun:",notnull"`
	DateJoined   time.Time  `bun:",notnull"`
	LastLogin    *time.Time `bun:",nullzero"`
}

// EmployeeView is an employee on the wire; the password never appears.
type EmployeeView struct {
	ID          int64      `json:"id"`
	Email       string     `json:"email" example:"jane@example.com"`
	Name        string     `json:"name" example:"Jane Smith"`
	Role        string     `json:"role" enum:"super_admin,admin,employee"`
	JobRole     string     `json:"job_role" example:"Sales Manager"`
	PhoneNumber string     `json:"phone_number" example:"+15550000001"`
	IsActive    bool       `json:"is_active"`
	Permissions []string   `json:"permissions" example:"[\"view_all_clients\"]"`
	Account     int64      `json:"account"`
	DateJoined  time.Time  `json:"date_joined"`
	LastLogin   *time.Time `json:"last_login"`
}

func (e *Employee) view() EmployeeView {
	perms := e.Permissions
	if perms == nil {
		perms = []string{}
	}
	return EmployeeView{ID: e.ID, Email: e.Email, Name: e.Name, Role: e.Role, JobRole: e.JobRole,
		PhoneNumber: e.PhoneNumber, IsActive: e.IsActive, Permissions: perms, Account: e.AccountID,
		DateJoined: e.DateJoined.UTC(), LastLogin: utcPtr(e.LastLogin)}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Session is one login; logout, a password change or a deactivation revokes it.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID         string     `bun:",pk"`
	AccountID  int64      `bun:",notnull"`
	EmployeeID int64      `bun:",notnull"`
	CreatedAt  time.Time  `bun:",notnull"`
	ExpiresAt  time.Time  `bun:",notnull"`
	RevokedAt  *time.Time `bun:",nullzero"`
	IP         string     `bun:"ip,notnull"`
}
