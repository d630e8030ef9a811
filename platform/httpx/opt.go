package httpx

import (
	"encoding/json"
	"reflect"

	"crm/platform/errs"

	"github.com/danielgtaylor/huma/v2"
)

// Nullable is a body field that can be absent, null or a value: what a PATCH
// needs for a reference that may be cleared (coach: null).
type Nullable[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Need returns the field's value when it is to be written: absent is
// "required" on a full write (POST, PUT) and skipped otherwise (PATCH); null
// is refused.
func (n Nullable[T]) Need(v *errs.Validation, field string, full bool) (T, bool) {
	var zero T
	switch {
	case !n.Set:
		if full {
			v.Add(field, "This field is required.")
		}
		return zero, false
	case n.Null:
		v.Add(field, "This field may not be null.")
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
