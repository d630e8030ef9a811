// Package errs holds the few kinds of error a service returns. Each carries a
// public message and maps to one HTTP status; the HTTP layer writes them as the
// contract's JSON ({"detail": ..., plus a list per failing field}).
package errs

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
)

// Error is an error with a status and a public message.
type Error struct {
	Status int
	Detail string
	// Fields maps a failing field to its messages (validation errors).
	Fields map[string][]string
	// Extra is merged into the body (e.g. "known" permissions).
	Extra map[string]any
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter int
	cause      error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Detail + ": " + e.cause.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.cause }

// GetStatus makes Error a huma.StatusError.
func (e *Error) GetStatus() int { return e.Status }

// ContentType makes huma write errors as plain JSON.
func (e *Error) ContentType(string) string { return "application/json" }

// GetHeaders adds Retry-After to a 429 (huma.HeadersError).
func (e *Error) GetHeaders() http.Header {
	if e.RetryAfter <= 0 {
		return nil
	}
	return http.Header{"Retry-After": {strconv.Itoa(e.RetryAfter)}}
}

// MarshalJSON writes {"detail": ..., "errors": {field: [msgs]}, extra...}.
func (e *Error) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 2+len(e.Extra))
	for k, v := range e.Extra {
		m[k] = v
	}
	m["detail"] = e.Detail
	if len(e.Fields) > 0 {
		m["errors"] = e.Fields
	}
	return json.Marshal(m)
}

// New builds an error of any status.
func New(status int, detail string) *Error { return &Error{Status: status, Detail: detail} }

// Wrap keeps the cause for logs; the public message is detail.
func Wrap(status int, detail string, cause error) *Error {
	return &Error{Status: status, Detail: detail, cause: cause}
}

// NotFound is the answer for a row that is missing or not visible.
func NotFound() *Error { return New(http.StatusNotFound, "Not found.") }

// Forbidden is an authenticated caller doing what it may not.
func Forbidden(detail string) *Error {
	if detail == "" {
		detail = "You do not have permission to perform this action."
	}
	return New(http.StatusForbidden, detail)
}

// Unauthenticated is a missing, invalid, expired or revoked credential.
func Unauthenticated(detail string) *Error {
	if detail == "" {
		detail = "Authentication credentials were not provided."
	}
	return New(http.StatusUnauthorized, detail)
}

// Conflict is a duplicate or a row others still depend on.
func Conflict(detail string) *Error { return New(http.StatusConflict, detail) }

// Unavailable is the database out of reach.
func Unavailable(cause error) *Error {
	return Wrap(http.StatusServiceUnavailable, "Service temporarily unavailable.", cause)
}

// Invalid is a validation error naming one field.
func Invalid(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: "Invalid input: " + field + ": " + msg, Fields: map[string][]string{field: {msg}}}
}

// Validation collects failing fields before returning them all at once.
type Validation struct{ fields map[string][]string }

// Add records one failing field.
func (v *Validation) Add(field, msg string) {
	if v.fields == nil {
		v.fields = map[string][]string{}
	}
	v.fields[field] = append(v.fields[field], msg)
}

// Has tells whether field already failed.
func (v *Validation) Has(field string) bool { _, ok := v.fields[field]; return ok }

// Err is nil when nothing failed.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, Detail: "Invalid input: " + v.summary(), Fields: v.fields}
}

func (v *Validation) summary() string {
	keys := make([]string, 0, len(v.fields))
	for k := range v.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += "; "
		}
		s += k + ": " + v.fields[k][0]
	}
	return s
}

// Status returns the HTTP status of err (500 for an unknown error).
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}
