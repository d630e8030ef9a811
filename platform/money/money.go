// Package money is the one exact money type of the API: an Amount is a count
// of minor units (cents) in an int64, stored in BIGINT columns on both
// databases, written on the wire as a decimal string with two places
// ("999.99") and read from a JSON number or string without ever going
// through a binary float.
package money

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Amount is an exact, non-negative amount of money in minor units (cents):
// Amount(99999) is 999.99. Sums of Amounts are exact.
//
// A request body field of type Amount is checked by huma before the handler
// runs: UnmarshalJSON never fails, it keeps a refused input as a negative
// mark, and Resolve turns the mark into a 400 naming the field. So a handler
// only ever sees valid amounts, and Value refuses to store a negative one.
type Amount int64

// Limit is the first amount refused: 10^12 units (1000000000000.00).
const Limit Amount = 100_000_000_000_000

// maxWholeDigits is how many digits may stand before the decimal point.
const maxWholeDigits = 12

// reason is why a text is not an amount; as a negative Amount it marks a
// refused JSON input.
type reason int64

const (
	valid reason = iota
	isNull
	notNumber
	hasExponent
	tooManyDecimals
	negative
	tooLarge
	lastReason
)

var messages = [lastReason]string{
	valid:           "",
	isNull:          "This field may not be null.",
	notNumber:       "A valid number is required (a JSON number or a string such as \"999.99\").",
	hasExponent:     "A valid number is required: write it without an exponent.",
	tooManyDecimals: "Ensure that there are no more than 2 decimal places.",
	negative:        "Ensure this value is greater than or equal to 0.",
	tooLarge:        "Ensure this value is less than 1000000000000.",
}

// ParseError tells why a text is not an amount, in words for the caller.
type ParseError struct{ reason reason }

func (e *ParseError) Error() string { return messages[e.reason] }

func fail(r reason) error {
	if r == valid {
		return nil
	}
	return &ParseError{reason: r}
}

// Parse reads a decimal text such as "999.99", "12.5" or "7": digits, then
// at most two decimals; no sign, no exponent, below 10^12. Surrounding spaces
// are ignored, as DRF's DecimalField ignores them.
func Parse(s string) (Amount, error) {
	a, r := parseText(strings.TrimSpace(s))
	return a, fail(r)
}

// ParseJSON reads a JSON number or a JSON string holding a decimal text, from
// the raw JSON text (never through float64).
func ParseJSON(raw []byte) (Amount, error) {
	a, r := parseJSON(raw)
	return a, fail(r)
}

func parseJSON(raw []byte) (Amount, reason) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return 0, notNumber
	case string(raw) == "null":
		return 0, isNull
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, notNumber
		}
		return parseText(strings.TrimSpace(s))
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		return parseText(string(raw))
	}
	return 0, notNumber
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decimal tells whether s is DIGITS or DIGITS.DIGITS.
func decimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	return digits(whole) && (!dot || digits(frac))
}

func parseText(s string) (Amount, reason) {
	sign := false
	if strings.HasPrefix(s, "-") {
		sign, s = true, s[1:]
	}
	if !decimal(s) {
		if i := strings.IndexAny(s, "eE"); i > 0 && decimal(s[:i]) {
			exp := strings.TrimLeft(s[i+1:], "+-")
			if len(s[i+1:])-len(exp) <= 1 && digits(exp) {
				return 0, hasExponent
			}
		}
		return 0, notNumber
	}
	whole, frac, _ := strings.Cut(s, ".")
	if sign {
		return 0, negative
	}
	if len(frac) > 2 {
		return 0, tooManyDecimals
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > maxWholeDigits {
		return 0, tooLarge
	}
	var units int64
	for i := 0; i < len(whole); i++ {
		units = units*10 + int64(whole[i]-'0')
	}
	cents := int64(0)
	for i := 0; i < 2; i++ {
		cents *= 10
		if i < len(frac) {
			cents += int64(frac[i] - '0')
		}
	}
	return Amount(units*100 + cents), valid
}

// String is the amount with two decimals: "999.99", "0.30".
func (a Amount) String() string {
	n := int64(a)
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// Cents is the amount in minor units.
func (a Amount) Cents() int64 { return int64(a) }

// Err tells why the JSON input behind a (as UnmarshalJSON left it) was
// refused; nil for a valid amount.
func (a Amount) Err() error {
	if a >= 0 {
		return nil
	}
	if r := reason(-a); r < lastReason {
		return fail(r)
	}
	return errors.New("money: negative amount")
}

// MarshalJSON writes the seed's decimal string: "999.99".
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + a.String() + `"`), nil
}

// UnmarshalJSON reads a JSON number or string. It never fails: a refused
// input is kept as a negative mark that Resolve (for huma request bodies)
// or Err reports.
func (a *Amount) UnmarshalJSON(raw []byte) error {
	v, r := parseJSON(raw)
	if r != valid {
		*a = -Amount(r)
		return nil
	}
	*a = v
	return nil
}

// Resolve reports a refused JSON input as a 400 naming the field; huma runs
// it on every Amount of a request before the handler.
func (a *Amount) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	err := a.Err()
	if err == nil {
		return nil
	}
	// field.Nullable[Amount] holds the amount in its Value field.
	loc := strings.TrimSuffix(prefix.String(), ".value")
	return []error{&huma.ErrorDetail{Location: loc, Message: err.Error()}}
}

// Schema documents the amount: a JSON number or a decimal string in, a
// decimal string out. The checks are Resolve's, exact, not the schema's.
func (Amount) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Description: "An exact amount of money: at most two decimals, not negative, below 10^12. " +
			"Sent back as a string with two decimals (\"999.99\"); accepted as a JSON number (999.99) or a string (\"999.99\"). " +
			"Exponents (1e3) are refused.",
		Examples: []any{"999.99"},
	}
}

// Value stores the amount as an integer count of cents.
func (a Amount) Value() (driver.Value, error) {
	if a < 0 {
		return nil, fmt.Errorf("money: refusing to store a negative amount (%d)", int64(a))
	}
	return int64(a), nil
}

// Scan reads an integer count of cents: an integer column, or the exact
// decimal text of a PostgreSQL SUM. A binary float is refused.
func (a *Amount) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*a = Amount(v)
		return nil
	case []byte:
		return a.scanText(string(v))
	case string:
		return a.scanText(v)
	case nil:
		return errors.New("money: NULL amount (use *money.Amount for a nullable column, COALESCE for a sum)")
	}
	return fmt.Errorf("money: cannot scan %T into an amount", src)
}

func (a *Amount) scanText(s string) error {
	// PostgreSQL's numeric sum of integers may come back as "123" or "123.0".
	if whole, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
		s = whole
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("money: cannot scan %q into an amount: %w", s, err)
	}
	*a = Amount(n)
	return nil
}
