package billing

import (
	"strings"

	"crm/platform/errs"
)

const (
	msgBlank = "This field may not be blank."
	maxToken = 255
)

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
