package httpx_test

import (
	"encoding/json"
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
)

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
