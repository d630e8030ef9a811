package httpx

import (
	"bytes"
	"unicode/utf8"

	"crm/platform/errs"

	"github.com/gofiber/fiber/v2"
)

// textOnly refuses, with a 400, input that no text column can hold: a NUL
// character or invalid UTF-8 in a query parameter, and a \u0000 escape in a
// body. PostgreSQL rejects NUL in text and the query builder cannot quote it,
// so without this a search for "%00" was a 500.
func textOnly(c *fiber.Ctx) error {
	var bad *errs.Error
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		if bad != nil || storable(k) && storable(v) {
			return
		}
		field := "query"
		if storable(k) && len(k) <= 64 {
			field = string(k)
		}
		bad = errs.Invalid(field, "Must be UTF-8 text without NUL characters.")
	})
	if bad != nil {
		return bad
	}
	if hasNULEscape(c.Body()) {
		return errs.Invalid("body", "Text must not contain the NUL character (\\u0000).")
	}
	return c.Next()
}

func storable(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// hasNULEscape tells whether a JSON text holds the escape \u0000 (and not
// an escaped backslash followed by "u0000").
func hasNULEscape(body []byte) bool {
	const esc = `\u0000`
	for off := 0; ; {
		i := bytes.Index(body[off:], []byte(esc))
		if i < 0 {
			return false
		}
		at := off + i
		n := 0 // backslashes before this one
		for j := at - 1; j >= 0 && body[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		off = at + len(esc)
	}
}
