package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"crm/platform/journal"

	"github.com/uptrace/bun"
)

// Sink turns journal entries into events and writes one outbox row per
// (event, enabled endpoint subscribed to it), in the transaction of the
// change: a committed change always yields its event, a rolled-back one
// never does.
type Sink struct {
	retryFor time.Duration
}

// NewSink builds the sink; retryFor is how long a delivery is retried.
func NewSink(retryFor time.Duration) *Sink {
	if retryFor <= 0 {
		retryFor = 24 * time.Hour
	}
	return &Sink{retryFor: retryFor}
}

// EventType maps a journal entry to the event it announces, or "".
func EventType(e *journal.Entry) string {
	switch e.ObjectType {
	case journal.Client:
		switch e.Action {
		case journal.Create:
			return ClientCreated
		case journal.Update:
			return ClientUpdated
		case journal.StatusChange:
			return ClientStatusChanged
		case journal.Delete:
			return ClientDeleted
		}
	case journal.Payment:
		switch e.Action {
		case journal.Create:
			return PaymentRecorded
		case journal.StatusChange:
			return PaymentStatusChanged
		}
	case journal.Instalment:
		switch e.Action {
		case journal.StatusChange, journal.Update:
			if c, ok := e.Changes["status"]; ok && fmt.Sprint(c.New) == "paid" {
				return InstalmentPaid
			}
		case journal.Overdue:
			return InstalmentOverdue
		}
	case journal.Employee:
		switch e.Action {
		case journal.Create:
			return EmployeeCreated
		case journal.Deactivate:
			return EmployeeDeactivated
		}
	}
	return ""
}

// Write is the journal.Sink: it runs in the change's transaction.
func (s *Sink) Write(ctx context.Context, tx bun.IDB, e *journal.Entry) error {
	typ := EventType(e)
	if typ == "" || e.AccountID <= 0 {
		return nil
	}
	// The entry's account is the one the change was made in (the caller's,
	// or the one a system job names explicitly).
	var endpoints []Endpoint
	if err := tx.NewSelect().Model(&endpoints).Column("id", "event_types").
		Where("we.account_id = ?", e.AccountID).Where("we.enabled = ?", true).Scan(ctx); err != nil {
		return err
	}
	var to []int64
	for _, ep := range endpoints {
		if slices.Contains(ep.EventTypes, "*") || slices.Contains(ep.EventTypes, typ) {
			to = append(to, ep.ID)
		}
	}
	if len(to) == 0 {
		return nil
	}
	ev := Event{ID: newEventID(), Type: typ, Created: e.At.UTC(), Account: e.AccountID, Data: data(e)}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhooks: encode event: %w", err)
	}
	now := e.At.UTC().Truncate(time.Microsecond)
	rows := make([]Delivery, len(to))
	for i, id := range to {
		rows[i] = Delivery{AccountID: e.AccountID, EndpointID: id, EventID: ev.ID, EventType: typ, Payload: string(body),
			Status: StatusPending, NextAttemptAt: now, GiveUpAt: now.Add(s.retryFor), CreatedAt: now}
	}
	_, err = tx.NewInsert().Model(&rows).Exec(ctx)
	return err
}

// data is the event's object and, for an update, the previous values of
// the fields that changed. A deleted object (no Object) is shown as it was,
// from the old values, with "deleted": true.
func data(e *journal.Entry) EventData {
	if e.Object == nil {
		obj := map[string]any{}
		for field, c := range e.Changes {
			obj[field] = c.Old
		}
		obj["id"] = e.ObjectID
		if e.Action == journal.Delete {
			obj["deleted"] = true
		}
		return EventData{Object: obj}
	}
	d := EventData{Object: e.Object}
	if e.Action == journal.Create {
		return d
	}
	for field, c := range e.Changes {
		if d.PreviousAttributes == nil {
			d.PreviousAttributes = map[string]any{}
		}
		d.PreviousAttributes[field] = c.Old
	}
	return d
}

func newEventID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "evt_" + hex.EncodeToString(b)
}
