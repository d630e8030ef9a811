package field

import (
	"encoding/json"
	"reflect"

	"crm/platform/errs"

	"github.com/danielgtaylor/huma/v2"
)

// Nullable is a body field that can be absent, null or a value: the one way
// a write (POST, PUT, PATCH) receives its fields, so absent ("keep it") and
// null ("clear it") stay apart. A field that may not be null at all is
// tagged `nullable:"false"`: huma then refuses a null before a handler runs.
type Nullable[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Of is a field sent with the value v (a write that does not come from a
// request body: a Stripe event, the CLI).
func Of[T any](v T) Nullable[T] { return Nullable[T]{Set: true, Value: v} }

// Need returns the field's value when it is to be written: absent is
// "required" on a full write (POST, PUT) and skipped otherwise (PATCH); null
// is refused.
func (n Nullable[T]) Need(v *errs.Validation, field string, full bool) (T, bool) {
	var zero T
	switch {
	case !n.Set:
		if full {
			v.Add(field, msgRequired)
		}
		return zero, false
	case n.Null:
		v.Add(field, msgNull)
		return zero, false
	}
	return n.Value, true
}

// UnmarshalJSON records that the field was sent.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// Ptr returns nil for null or absent, else the value.
func (n Nullable[T]) Ptr() *T {
	if !n.Set || n.Null {
		return nil
	}
	v := n.Value
	return &v
}

// Schema documents the field as T or null.
func (n Nullable[T]) Schema(r huma.Registry) *huma.Schema {
	s := *r.Schema(reflect.TypeFor[T](), true, "")
	s.Nullable = true
	return &s
}
