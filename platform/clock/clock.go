// Package clock is the one time every write stamps: now in UTC, to the
// microsecond, which both databases store exactly (a value read back equals
// the one written, so journal diffs and tests compare alike).
package clock

import "time"

// Now is the current time in UTC, truncated to the microsecond.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
