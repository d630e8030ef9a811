package webhooks

import (
	"encoding/json"
	"time"

	"github.com/uptrace/bun"
)

// Event types an endpoint may subscribe to ("*" subscribes to all).
const (
	ClientCreated        = "client.created"
	ClientUpdated        = "client.updated"
	ClientStatusChanged  = "client.status_changed"
	ClientDeleted        = "client.deleted"
	PaymentRecorded      = "payment.recorded"
	PaymentStatusChanged = "payment.status_changed"
	InstalmentPaid       = "instalment.paid"
	InstalmentOverdue    = "instalment.overdue"
	EmployeeCreated      = "employee.created"
	EmployeeDeactivated  = "employee.deactivated"
)

// EventTypes lists every event type, in the documented order.
var EventTypes = []string{
	ClientCreated, ClientUpdated, ClientStatusChanged, ClientDeleted,
	PaymentRecorded, PaymentStatusChanged,
	InstalmentPaid, InstalmentOverdue,
	EmployeeCreated, EmployeeDeactivated,
}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Endpoint is a URL of an account that receives events.
type Endpoint struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:we"`

	ID          int64     `bun:",pk,autoincrement"`
	AccountID   int64     `bun:",notnull"`
	URL         string    `bun:"url,notnull"`
	Description string    `bun:",notnull"`
	EventTypes  []string  `bun:",notnull,type:text"`
	Enabled     bool      `bun:",notnull"`
	Secret      string    `bun:",notnull"`
	CreatedAt   time.Time `bun:",notnull"`
	UpdatedAt   time.Time `bun:",notnull"`
}

// EndpointView is an endpoint on the wire. The secret is shown once, in the
// create response, and never again.
type EndpointView struct {
	ID          int64     `json:"id"`
	URL         string    `json:"url" example:"https://hooks.example.com/crm"`
	Description string    `json:"description"`
	EventTypes  []string  `json:"event_types" example:"[\"client.created\",\"payment.recorded\"]"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Secret      string    `json:"secret,omitempty" doc:"The signing secret: only in the create response."`
}

func (e *Endpoint) view() EndpointView {
	types := e.EventTypes
	if types == nil {
		types = []string{}
	}
	return EndpointView{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: types, Enabled: e.Enabled,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

// Delivery is one event for one endpoint: the outbox row and its log.
type Delivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID               int64      `bun:",pk,autoincrement"`
	AccountID        int64      `bun:",notnull"`
	EndpointID       int64      `bun:",notnull"`
	EventID          string     `bun:",notnull"`
	EventType        string     `bun:",notnull"`
	Payload          string     `bun:",notnull"`
	Status           string     `bun:",notnull"`
	Attempts         int        `bun:",notnull"`
	NextAttemptAt    time.Time  `bun:",notnull"`
	GiveUpAt         time.Time  `bun:",notnull"`
	LockedUntil      *time.Time `bun:",nullzero"`
	Claim            *string    `bun:",nullzero"`
	LastAttemptAt    *time.Time `bun:",nullzero"`
	LastResponseCode *int       `bun:",nullzero"`
	LastError        string     `bun:",notnull"`
	DeliveredAt      *time.Time `bun:",nullzero"`
	CreatedAt        time.Time  `bun:",notnull"`
}

// DeliveryView is a delivery on the wire.
type DeliveryView struct {
	ID               int64           `json:"id"`
	Endpoint         int64           `json:"endpoint"`
	EventID          string          `json:"event_id" example:"evt_3f9a0c5e2b7d4e81a6c1f0d2"`
	EventType        string          `json:"event_type" example:"client.created"`
	Status           string          `json:"status" enum:"pending,succeeded,failed"`
	Attempts         int             `json:"attempts"`
	LastResponseCode *int            `json:"last_response_code"`
	LastError        string          `json:"last_error"`
	LastAttemptAt    *time.Time      `json:"last_attempt_at"`
	NextAttemptAt    *time.Time      `json:"next_attempt_at" doc:"When the next attempt is due; null unless pending."`
	DeliveredAt      *time.Time      `json:"delivered_at"`
	CreatedAt        time.Time       `json:"created_at"`
	Payload          json.RawMessage `json:"payload" doc:"The event exactly as sent."`
}

func (d *Delivery) view() DeliveryView {
	v := DeliveryView{ID: d.ID, Endpoint: d.EndpointID, EventID: d.EventID, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, LastResponseCode: d.LastResponseCode, LastError: d.LastError,
		LastAttemptAt: utcPtr(d.LastAttemptAt), DeliveredAt: utcPtr(d.DeliveredAt), CreatedAt: d.CreatedAt.UTC(),
		Payload: json.RawMessage(d.Payload)}
	if d.Status == StatusPending {
		t := d.NextAttemptAt.UTC()
		v.NextAttemptAt = &t
	}
	return v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Event is the JSON body POSTed to an endpoint.
type Event struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Created time.Time `json:"created"`
	Account int64     `json:"account"`
	Data    EventData `json:"data"`
}

// EventData is the object after the change and, for updates, the previous
// values of the fields that changed.
type EventData struct {
	Object             any            `json:"object"`
	PreviousAttributes map[string]any `json:"previous_attributes,omitempty"`
}

// overdueNotice marks an instalment already announced as overdue.
type overdueNotice struct {
	bun.BaseModel `bun:"table:webhook_overdue_instalments,alias:wo"`

	AccountID    int64     `bun:",pk"`
	InstalmentID int64     `bun:",pk"`
	NoticedAt    time.Time `bun:",notnull"`
}
