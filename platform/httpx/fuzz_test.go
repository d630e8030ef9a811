package httpx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/errs"
	"crm/platform/httpx"
)

var fuzzOrdering = httpx.Ordering{
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
		p := httpx.LikePattern(term)
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

// FuzzPathID: any text as the id of /api/employees/{id}/ is served only
// when it is a positive int64 written as the API writes it and names an
// employee of the caller's account; anything else is 404 with the
// contract's body, never a 400 or a 5xx.
func FuzzPathID(f *testing.F) {
	e := identitytest.New(f, nil)
	acme := e.Account("Acme")
	own := strconv.FormatInt(acme.Owner.ID, 10)
	for _, s := range []string{own, "+" + own, "0" + own, " " + own, own + " ", own + ".0", "-" + own, "0", "abc", "1e3", "9223372036854775807", "9223372036854775808", "%", "..", "\u0031"} {
		f.Add(s)
	}
	canonical := regexp.MustCompile(`^[1-9][0-9]*$`)
	f.Fuzz(func(t *testing.T, id string) {
		if id == "" || id == "." || id == ".." || len(id) > 2000 {
			return // no id: the path is another one (the list, a parent)
		}
		path := "/api/employees/" + url.PathEscape(id) + "/"
		a := *e.App // the app, failing this input's t
		a.T = t
		r := a.Get(acme.Owner.Token, path)
		_, err := strconv.ParseInt(id, 10, 64)
		if id == own {
			apptest.Expect(t, r, http.StatusOK)
			return
		}
		if r.Status != http.StatusNotFound || strings.TrimSpace(string(r.Body)) != `{"detail":"Not found."}` {
			t.Fatalf("%s (canonical %v, in range %v): %s, want 404", path, canonical.MatchString(id), err == nil, r)
		}
	})
}

// FuzzNULField: a body whose one value sits at any path of objects and
// arrays is refused when the value holds NUL, with a 400 naming exactly that
// path as huma names fields (a.b[2].c), and otherwise reaches the route.
func FuzzNULField(f *testing.F) {
	e := identitytest.New(f, nil)
	acme := e.Account("Acme")
	for _, s := range []struct {
		keys string
		idx  uint8
		text string
	}{
		{"name", 0, "\x00"}, {"permissions/[]", 2, "x\x00"}, {"a/[]/b.c/[]/d", 1, "\x00\x00"}, {"[]", 0, "\x00"}, {"", 0, "\x00"},
		{"name", 0, "Ada"}, {"a[0]/b", 3, "\x00"}, {"é/ü", 0, "\xff\x00"},
	} {
		f.Add(s.keys, s.idx, s.text)
	}
	f.Fuzz(func(t *testing.T, keys string, idx uint8, text string) {
		segs := strings.Split(keys, "/")
		if keys == "" {
			segs = nil
		}
		if len(segs) > 8 || len(keys) > 200 || len(text) > 200 {
			return
		}
		var v any = text
		var name strings.Builder
		for i := len(segs) - 1; i >= 0; i-- {
			k := strings.ToValidUTF8(strings.ReplaceAll(segs[i], "\x00", ""), "")
			segs[i] = k
			if k == "[]" {
				list := make([]any, int(idx%4)+1)
				for j := range list {
					list[j] = "ok"
				}
				list[len(list)-1] = v
				v = list
			} else {
				v = map[string]any{k: v}
			}
		}
		for _, k := range segs {
			if k == "[]" {
				fmt.Fprintf(&name, "[%d]", idx%4)
			} else {
				if name.Len() > 0 {
					name.WriteByte('.')
				}
				name.WriteString(k)
			}
		}
		field := name.String()
		if field == "" || field[0] == '[' {
			field = "body" + field
		}
		body, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		a := *e.App // the app, failing this input's t
		a.T = t
		r := a.Post(acme.Owner.Token, "/api/employees/", string(body))
		if r.Status >= 500 {
			t.Fatalf("%s: %s", body, r)
		}
		if !strings.Contains(text, "\x00") {
			return
		}
		var out struct {
			Detail string              `json:"detail"`
			Errors map[string][]string `json:"errors"`
		}
		r.JSON(t, &out)
		if got := slices.Collect(maps.Keys(out.Errors)); r.Status != http.StatusBadRequest || len(got) != 1 || got[0] != field || !strings.Contains(out.Detail, field) {
			t.Fatalf("%s: %s, want 400 naming %q", body, r, field)
		}
	})
}
