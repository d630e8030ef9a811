package catalog

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"crm/platform/errs"
)

// Limits of the contract, in characters.
const (
	maxName        = 150
	maxDescription = 10000
)

const (
	msgBlank = "This field may not be blank."
)

// msgNoSuchRef is DRF's message for a reference that does not exist (or is
// another account's, or a client the caller may not read: the same words).
func msgNoSuchRef(id int64) string {
	return `Invalid pk "` + strconv.FormatInt(id, 10) + `" - object does not exist.`
}

func msgChoice(value string, choices []string) string {
	return `"` + value + `" is not a valid choice: ` + strings.Join(choices, ", ") + "."
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
