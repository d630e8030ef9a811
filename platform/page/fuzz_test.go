package page_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"crm/platform/errs"
	"crm/platform/page"
)

var fuzzOrdering = page.Ordering{
	Fields:   map[string]string{"id": "t.id", "name": "t.name", "created_at": "t.created_at"},
	Default:  "-created_at",
	TieBreak: "t.id",
}

// FuzzOrderingSQL: ?ordering= never reaches SQL but as whitelisted columns
// with ASC or DESC; anything else is a 400 with a detail.
func FuzzOrderingSQL(f *testing.F) {
	for _, s := range []string{"", "id", "-id", "name,-id", " name , -created_at ", "id;DROP TABLE t", "-", "--id", ",,,", "name)", "t.id", "ID", "id desc", "\x00"} {
		f.Add(s)
	}
	allowed := map[string]bool{}
	for _, col := range append([]string{fuzzOrdering.TieBreak}, "t.id", "t.name", "t.created_at") {
		allowed[col+" ASC"], allowed[col+" DESC"] = true, true
	}
	f.Fuzz(func(t *testing.T, param string) {
		expr, err := fuzzOrdering.SQL(param)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Detail == "" || len(e.Fields["ordering"]) == 0 {
				t.Fatalf("%q: error %v", param, err)
			}
			return
		}
		for _, part := range strings.Split(expr, ", ") {
			if !allowed[part] {
				t.Fatalf("%q gave %q: %q is not whitelisted", param, expr, part)
			}
		}
	})
}

// FuzzLikePattern: a search term matches itself literally: wrapped in %,
// with every %, _ and \ of the term escaped.
func FuzzLikePattern(f *testing.F) {
	for _, s := range []string{"", "abc", "100%", "a_b", `back\slash`, `\%`, `%_\`, "ÉCOLE", "\xff", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, term string) {
		p := page.LikePattern(term)
		if len(p) < 2 || p[0] != '%' || p[len(p)-1] != '%' {
			t.Fatalf("%q -> %q: not wrapped in %%", term, p)
		}
		inner := p[1 : len(p)-1]
		var out strings.Builder
		for i := 0; i < len(inner); i++ {
			switch c := inner[i]; c {
			case '\\':
				if i+1 >= len(inner) || !strings.ContainsRune(`\%_`, rune(inner[i+1])) {
					t.Fatalf("%q -> %q: dangling escape at %d", term, p, i)
				}
				out.WriteByte(inner[i+1])
				i++
			case '%', '_':
				t.Fatalf("%q -> %q: unescaped wildcard at %d", term, p, i)
			default:
				out.WriteByte(c)
			}
		}
		if out.String() != strings.ToLower(term) {
			t.Fatalf("%q -> %q matches %q", term, p, out.String())
		}
	})
}
