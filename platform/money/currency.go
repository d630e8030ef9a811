package money

import (
	"strings"

	"golang.org/x/text/currency"
)

// ParseCurrency reads an ISO 4217 currency code in any case and returns it
// in upper case ("usd" -> "USD"). XXX (no currency) and XTS (testing) are
// refused: nobody pays in them.
func ParseCurrency(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 3 || s == "XXX" || s == "XTS" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return "", false
		}
	}
	u, err := currency.ParseISO(s)
	if err != nil || u.String() != s {
		return "", false
	}
	return s, true
}
