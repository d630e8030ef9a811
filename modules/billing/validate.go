package billing

import (
	"strconv"
	"strings"

	"crm/platform/emailaddr"
	"crm/platform/errs"
)

const (
	msgBlank = "This field may not be blank."
	maxToken = 255
)

// msgNoSuchRef is DRF's message for a reference that does not exist (or is
// another account's, or a client the caller may not read: the same words).
func msgNoSuchRef(id int64) string {
	return `Invalid pk "` + strconv.FormatInt(id, 10) + `" - object does not exist.`
}

// token checks an identifier from another system (a Stripe id): trimmed, at
// most 255 printable ASCII characters without spaces. Empty stays empty.
func token(v *errs.Validation, field, s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxToken {
		v.Add(field, "Ensure this field has no more than 255 characters.")
		return s
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			v.Add(field, "Use printable ASCII characters without spaces.")
			return s
		}
	}
	return s
}

// email trims and lower-cases an address and checks its syntax; empty stays
// empty.
func email(v *errs.Validation, field, s string) string {
	e := emailaddr.Normalize(s)
	if e == "" {
		return e
	}
	if p := emailaddr.Problem(e); p != "" {
		v.Add(field, p)
	}
	return e
}
