package audit

import (
	"encoding/json"
	"time"

	"crm/platform/journal"

	"github.com/uptrace/bun"
)

// Event is one recorded change: who did what to which object, when, from
// where, and which fields moved from what to what.
type Event struct {
	bun.BaseModel `bun:"table:audit_events,alias:ae"`

	ID int64 `bun:",pk,autoincrement"`
	// AccountID is nil only for a failed login with an unknown email, an
	// event kept in audit_events_no_account.
	AccountID  *int64 `bun:"account_id"`
	ActorID    *int64 `bun:"actor_id"`
	Action     string `bun:",notnull"`
	ObjectType string `bun:",notnull"`
	ObjectID   *int64 `bun:"object_id"`
	// Changes is the JSON of map[field]journal.Change, secrets removed.
	Changes   string    `bun:",notnull"`
	RequestID string    `bun:",notnull"`
	IP        string    `bun:"ip,notnull"`
	At        time.Time `bun:",notnull"`
}

// EventView is an event on the wire.
type EventView struct {
	ID         int64                     `json:"id"`
	Account    int64                     `json:"account"`
	Actor      *int64                    `json:"actor" doc:"Employee who made the change; null for a failed login or the command line."`
	Action     string                    `json:"action" example:"role_change" doc:"create, update, delete, deactivate, role_change, permission_change, password_change, login, login_failed, logout, ..."`
	ObjectType string                    `json:"object_type" example:"employee"`
	ObjectID   *int64                    `json:"object_id" example:"42"`
	Changes    map[string]journal.Change `json:"changes" doc:"Changed fields with their old and new values; never a password, hash, secret or token."`
	RequestID  string                    `json:"request_id" doc:"X-Request-ID of the request that made the change."`
	IP         string                    `json:"ip" doc:"Address of the caller."`
	At         time.Time                 `json:"at"`
}

func (e *Event) view() EventView {
	v := EventView{ID: e.ID, Actor: e.ActorID, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
		RequestID: e.RequestID, IP: e.IP, At: e.At.UTC(), Changes: map[string]journal.Change{}}
	if e.AccountID != nil {
		v.Account = *e.AccountID
	}
	_ = json.Unmarshal([]byte(e.Changes), &v.Changes)
	if v.Changes == nil {
		v.Changes = map[string]journal.Change{}
	}
	return v
}

func nonZero(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}
