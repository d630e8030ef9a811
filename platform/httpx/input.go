package httpx

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"crm/platform/errs"

	"github.com/gofiber/fiber/v2"
)

// textOnly refuses, with a 400, input that no text column can hold: a NUL
// character or invalid UTF-8 in a query parameter, and a NUL character (the
// escape \u0000) in a string of a JSON body. PostgreSQL rejects NUL in text
// and the query builder cannot quote it, so without this a search for "%00"
// was a 500. The error names the parameter, or the body's field.
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
	if body := c.Body(); bytes.Contains(body, []byte(`\u0000`)) {
		if err := nulFields(body); err != nil {
			return err
		}
	}
	return c.Next()
}

func storable(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

const (
	// nulMaxFields bounds the fields one answer names (a body of a million
	// NUL strings gets an answer of ten).
	nulMaxFields = 10
	// nulMaxDepth bounds a field's name: deeper, the answer names the field
	// that holds the NUL at this depth.
	nulMaxDepth = 32
)

// nulFields names every string of a JSON body that holds the NUL character,
// as huma names the fields of its validation errors: first_name,
// event_types[2], a.b[0].c ("body" for the body itself). A key holding NUL
// names the object that has it. A body that is not JSON past some point is
// read up to there: the route's decoder refuses the rest (an escaped
// backslash followed by "u0000" is ordinary text, and no NUL).
func nulFields(body []byte) error {
	var stack []nulLevel
	var v errs.Validation
	n := 0
	add := func(levels []nulLevel, msg string) {
		if field := nulFieldName(levels); !v.Has(field) {
			v.Add(field, msg)
			n++
		}
	}
	next := func() { // the value at the top of the stack is read
		if len(stack) == 0 {
			return
		}
		if top := &stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a number too large for a float64 is not an error here
	for n < nulMaxFields {
		tok, err := dec.Token()
		if err != nil {
			break // the end, or not JSON from here on
		}
		if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey {
			if key, ok := tok.(string); ok {
				if strings.IndexByte(key, 0) >= 0 {
					add(stack[:len(stack)-1], "Keys must not contain the NUL character (\\u0000).")
				}
				stack[len(stack)-1].key, stack[len(stack)-1].wantKey = key, false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, nulLevel{object: true, wantKey: true})
			case '[':
				stack = append(stack, nulLevel{})
			default:
				stack = stack[:len(stack)-1]
				next()
			}
		case string:
			if strings.IndexByte(t, 0) >= 0 {
				add(stack, "Text must not contain the NUL character (\\u0000).")
			}
			next()
		default:
			next()
		}
	}
	return v.Err()
}

// nulLevel is an object or an array nulFields is in.
type nulLevel struct {
	object  bool
	wantKey bool   // object: the next token is a key
	key     string // object: the member being read
	index   int    // array: the element being read
}

// nulFieldName names the value levels lead to as huma names a field
// (first_name, event_types[2], a.b[0].c, body), up to nulMaxDepth levels.
func nulFieldName(levels []nulLevel) string {
	if len(levels) > nulMaxDepth {
		levels = levels[:nulMaxDepth]
	}
	var b strings.Builder
	for _, l := range levels {
		if l.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(l.key)
		} else {
			b.WriteString("[" + strconv.Itoa(l.index) + "]")
		}
	}
	field := b.String()
	if field == "" || field[0] == '[' {
		field = "body" + field
	}
	return field
}
