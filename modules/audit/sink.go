package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"crm/platform/journal"

	"github.com/uptrace/bun"
)

// Sink writes every journal entry as an audit_events row, in the transaction
// of the change it records.
type Sink struct{}

// NewSink builds the sink.
func NewSink() *Sink { return &Sink{} }

// Write inserts the entry's event in tx. Secrets are stripped from the
// changes whatever the caller sent.
func (s *Sink) Write(ctx context.Context, tx bun.IDB, e *journal.Entry) error {
	changes := e.Changes
	if len(changes) == 0 && e.Action == journal.Create && e.Object != nil {
		var err error
		if changes, err = createChanges(e.Object); err != nil {
			return err
		}
	}
	raw, err := cleanJSON(changes)
	if err != nil {
		return fmt.Errorf("audit: encode changes: %w", err)
	}
	ev := &Event{AccountID: nonZero(e.AccountID), ActorID: nonZero(e.ActorID), Action: string(e.Action), ObjectType: string(e.ObjectType),
		ObjectID: nonZero(e.ObjectID), Changes: raw, RequestID: e.RequestID, IP: e.IP, At: e.At.UTC()}
	q := tx.NewInsert().Model(ev)
	if ev.AccountID == nil {
		// Of no account (a failed login with nobody's email): the owner's
		// table, which no account lists (docs/audit.md).
		q = q.ModelTableExpr("audit_events_no_account AS ae").ExcludeColumn("account_id")
	}
	_, err = q.Exec(ctx)
	return err
}

// createChanges lists every field of a new object as a change from null.
func createChanges(obj any) (map[string]journal.Change, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("audit: encode object: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, nil // not an object: nothing to list
	}
	out := make(map[string]journal.Change, len(fields))
	for k, v := range fields {
		out[k] = journal.Change{Old: nil, New: v}
	}
	return out, nil
}

// Sensitive tells whether a field name looks like a credential: such keys
// are dropped from the changes at any depth.
func Sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"password", "passwd", "secret", "token", "api_key", "apikey", "private_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return k == "hash" || strings.HasSuffix(k, "_hash")
}

// cleanJSON encodes changes without any sensitive key, numbers kept exact.
func cleanJSON(changes map[string]journal.Change) (string, error) {
	if len(changes) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(changes)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	out, err := json.Marshal(strip(v))
	return string(out), err
}

func strip(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if Sensitive(k) {
				delete(x, k)
				continue
			}
			x[k] = strip(val)
		}
	case []any:
		for i := range x {
			x[i] = strip(x[i])
		}
	}
	return v
}

var _ journal.Sink = (*Sink)(nil)
