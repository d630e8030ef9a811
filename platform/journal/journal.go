// Package journal is the one call every write makes, inside its own
// transaction, to say what changed. Sinks (the audit log, the webhook
// outbox) write their rows in that same transaction, so a committed change
// always has its records and a rolled-back one never does.
package journal

import (
	"context"
	"reflect"
	"time"

	"crm/platform/auth"
	"crm/platform/clock"
	"crm/platform/reqctx"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// Change is one field's old and new value. Never put a password or a hash
// in one.
type Change struct {
	Old any `json:"old"`
	New any `json:"new"`
}

// Action is what a change did; its string is stored in the audit log and
// read by the webhook events, so a value never changes.
type Action string

// The actions modules journal.
const (
	Create           Action = "create"
	Update           Action = "update"
	Delete           Action = "delete"
	StatusChange     Action = "status_change"
	Deactivate       Action = "deactivate"
	Overdue          Action = "overdue" // an open instalment past its date
	Login            Action = "login"
	LoginFailed      Action = "login_failed"
	Logout           Action = "logout"
	PasswordChange   Action = "password_change"
	PermissionChange Action = "permission_change"
	RoleChange       Action = "role_change"
)

// ObjectType is the kind of row a change is to; stored like Action.
type ObjectType string

// The object types modules journal.
const (
	Account        ObjectType = "account"
	Employee       ObjectType = "employee"
	Client         ObjectType = "client"
	Package        ObjectType = "package"
	ClientPackage  ObjectType = "client_package"
	Payment        ObjectType = "payment"
	Instalment     ObjectType = "instalment"
	StripeCustomer ObjectType = "stripe_customer"
)

// Entry is one change to record.
type Entry struct {
	Action     Action
	ObjectType ObjectType
	ObjectID   int64
	// Changes by field (for updates; creates may list the new values).
	Changes map[string]Change
	// Object is the row after the change, as the API shows it (webhook
	// payloads); nil for a delete.
	Object any

	// Filled by Record from the context when left zero.
	AccountID int64
	ActorID   int64
	RequestID string
	IP        string
	At        time.Time
}

// Sink writes entries inside the caller's transaction.
type Sink interface {
	Write(ctx context.Context, tx bun.IDB, e *Entry) error
}

// Journal fans an entry out to every sink.
type Journal struct{ sinks []Sink }

type in struct {
	fx.In
	Sinks []Sink `group:"journal_sinks"`
}

// New builds the journal from the sinks modules contribute.
func New(p in) *Journal { return &Journal{sinks: p.Sinks} }

// NewWith builds a journal from explicit sinks (tests, CLI).
func NewWith(sinks ...Sink) *Journal { return &Journal{sinks: sinks} }

// AsSink contributes a constructor's Sink to the journal.
func AsSink(constructor any) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.As(new(Sink)), fx.ResultTags(`group:"journal_sinks"`)))
}

// Record writes e through every sink, in tx. Account, actor, request id,
// address and time come from ctx when e leaves them zero.
func (j *Journal) Record(ctx context.Context, tx bun.IDB, e Entry) error {
	if j == nil || len(j.sinks) == 0 {
		return nil
	}
	if e.AccountID == 0 {
		e.AccountID, _ = tenant.Account(ctx)
	}
	if e.ActorID == 0 {
		if p := auth.FromContext(ctx); p != nil {
			e.ActorID = p.EmployeeID
		}
	}
	if e.RequestID == "" {
		e.RequestID = reqctx.ID(ctx)
	}
	if e.IP == "" {
		e.IP = reqctx.ClientIP(ctx)
	}
	if e.At.IsZero() {
		e.At = clock.Now()
	}
	for _, s := range j.sinks {
		if err := s.Write(ctx, tx, &e); err != nil {
			return err
		}
	}
	return nil
}

// Diff compares old and new values field by field and returns the changes.
func Diff(fields map[string][2]any) map[string]Change {
	out := map[string]Change{}
	for k, v := range fields {
		if !reflect.DeepEqual(v[0], v[1]) {
			out[k] = Change{Old: v[0], New: v[1]}
		}
	}
	return out
}
