package catalog

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"crm/platform/errs"
	"crm/platform/httpx"
)

// Limits of the contract, in characters.
const (
	maxName        = 150
	maxDescription = 10000
)

const (
	msgRequired = "This field is required."
	msgNull     = "This field may not be null."
	msgBlank    = "This field may not be blank."
)

// msgNoSuchRef is DRF's message for a reference that does not exist (or is
// another account's, or a client the caller may not read: the same words).
func msgNoSuchRef(id int64) string {
	return `Invalid pk "` + strconv.FormatInt(id, 10) + `" - object does not exist.`
}

func msgChoice(value string, choices []string) string {
	return `"` + value + `" is not a valid choice: ` + strings.Join(choices, ", ") + "."
}

// need returns a field's value when it is to be written: absent is "required"
// on a full write (POST, PUT) and skipped otherwise (PATCH); null is refused.
func need[T any](v *errs.Validation, field string, n httpx.Nullable[T], full bool) (T, bool) {
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

// text trims s and checks its length in characters and that it holds no
// control character (multiline text may hold line breaks and tabs).
func text(v *errs.Validation, field, s string, min, max int, multiline bool) string {
	s = strings.TrimSpace(s)
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			v.Add(field, "This field may not contain control characters.")
			return s
		}
	}
	switch n := utf8.RuneCountInString(s); {
	case n < min:
		v.Add(field, msgBlank)
	case n > max:
		v.Add(field, "Ensure this field has no more than "+strconv.Itoa(max)+" characters.")
	}
	return s
}
