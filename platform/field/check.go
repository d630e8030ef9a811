package field

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"crm/platform/emailaddr"
	"crm/platform/errs"
	"crm/platform/money"
)

// The API's messages (DRF's words) for the checks below and Need.
const (
	msgRequired = "This field is required."
	msgNull     = "This field may not be null."
	msgBlank    = "This field may not be blank."
)

// Text trims s and checks that it holds no control character (multiline
// text may hold line breaks and tabs) and that its length in characters is
// from min to max. It returns s trimmed.
func Text(v *errs.Validation, name, s string, min, max int, multiline bool) string {
	s = strings.TrimSpace(s)
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			v.Add(name, "This field may not contain control characters.")
			return s
		}
	}
	switch n := utf8.RuneCountInString(s); {
	case n < min:
		v.Add(name, msgBlank)
	case n > max:
		v.Add(name, "Ensure this field has no more than "+strconv.Itoa(max)+" characters.")
	}
	return s
}

// Email trims and lower-cases an address and checks it (emailaddr): one
// plain address with a dotted domain, at most 254 characters. Empty is
// "blank" unless optional.
func Email(v *errs.Validation, name, s string, optional bool) string {
	e := emailaddr.Normalize(s)
	switch {
	case e == "" && !optional:
		v.Add(name, msgBlank)
	case e != "":
		if p := emailaddr.Problem(e); p != "" {
			v.Add(name, p)
		}
	}
	return e
}

// Choice checks that s is one of choices.
func Choice(v *errs.Validation, name, s string, choices []string) string {
	if !slices.Contains(choices, s) {
		v.Add(name, `"`+s+`" is not a valid choice: `+strings.Join(choices, ", ")+".")
	}
	return s
}

// Currency reads an ISO 4217 code in any case and returns it in upper case.
func Currency(v *errs.Validation, name, s string) string {
	c, ok := money.ParseCurrency(s)
	if !ok {
		v.Add(name, "Enter an ISO 4217 currency code (e.g. USD).")
	}
	return c
}

// NoSuchRef is DRF's message for a reference that does not exist (or is
// another account's, or a row the caller may not read: the same words).
func NoSuchRef(id int64) string {
	return `Invalid pk "` + strconv.FormatInt(id, 10) + `" - object does not exist.`
}

// Ref checks the reference id sent in field name, unless it is 0 or the
// field failed already: exists tells whether id names a row the caller may
// use; when it does not, the field gets NoSuchRef.
func Ref(v *errs.Validation, name string, id int64, exists func(id int64) (bool, error)) error {
	if id == 0 || v.Has(name) {
		return nil
	}
	ok, err := exists(id)
	if err == nil && !ok {
		v.Add(name, NoSuchRef(id))
	}
	return err
}
