// Package field is what a request's fields are in the domain: calendar
// dates, body fields that may be absent, null or a value (what a PATCH
// sends), and the checks every module applies to them, with the API's
// messages.
package field

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Date is a calendar date without a time or zone: "YYYY-MM-DD" on the wire
// (huma checks the format before a handler runs), DATE on PostgreSQL and the
// same text on SQLite, so dates compare and sort alike on both.
type Date struct{ t time.Time }

// datePattern keeps years from 1000 on: PostgreSQL has no year 0, and no
// date of this API is older.
const datePattern = `^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$`

// ParseDate reads "YYYY-MM-DD", from year 1000 to 9999.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 1000 {
		return Date{}, fmt.Errorf("expected a date as YYYY-MM-DD, got %q", s)
	}
	return Date{t}, nil
}

// Today is the current date in UTC.
func Today() Date {
	y, m, d := time.Now().UTC().Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// String is "YYYY-MM-DD".
func (d Date) String() string { return d.t.Format(time.DateOnly) }

// IsZero tells whether d was never set.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Before tells whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }

// AddDays is the date n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("expected a date as YYYY-MM-DD")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Schema documents (and has huma check) a date string.
func (Date) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Format: "date", Pattern: datePattern,
		Description: "A date YYYY-MM-DD, from year 1000.", Examples: []any{"2025-01-01"}}
}

// Value stores the date as "YYYY-MM-DD".
func (d Date) Value() (driver.Value, error) {
	if d.IsZero() {
		return nil, errors.New("field: refusing to store a zero date (use *Date for a nullable column)")
	}
	return d.String(), nil
}

// Scan reads a DATE (PostgreSQL gives a time.Time) or its text (SQLite).
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		y, m, day := v.Date()
		*d = Date{time.Date(y, m, day, 0, 0, 0, 0, time.UTC)}
		return nil
	case string:
		return d.scanText(v)
	case []byte:
		return d.scanText(string(v))
	}
	return fmt.Errorf("field: cannot scan %T into a date", src)
}

func (d *Date) scanText(s string) error {
	if len(s) > len(time.DateOnly) {
		s = s[:len(time.DateOnly)]
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
