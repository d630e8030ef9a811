package clients

import (
	"strings"
	"testing"
	"unicode"

	"crm/platform/errs"
	"crm/platform/field"
)

// TestCountryCodes: exactly the 249 officially assigned ISO 3166-1 alpha-2
// codes pass, in upper case only.
func TestCountryCodes(t *testing.T) {
	n := 0
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if validCountry(string([]rune{a, b})) {
				n++
			}
		}
	}
	if n != 249 {
		t.Fatalf("%d codes pass, want 249", n)
	}
	for _, s := range []string{"US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "IE", "SS", "CW", "BQ", "AQ", "TW", "PS"} {
		if !validCountry(s) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{"", "us", "Us", "USA", "UK", "EU", "ZZ", "XK", "AA", "QO", "SU", "YU", "AN", "CS", "NT", "DD", "ZR", "TP", "AC", "EA", "IC", "UN", "001", "U1"} {
		if validCountry(s) {
			t.Errorf("%s accepted", s)
		}
	}
}

// FuzzInputs: the parsers of untrusted text never panic and keep their
// promises.
func FuzzInputs(f *testing.F) {
	for _, s := range []string{"", "US", "usd", "O'Brien smith", "100%,_x", "a\x00b", "  ,, ", "é", "John <j@x.com>", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validCountry(s) && (len(s) != 2 || strings.ToUpper(s) != s) {
			t.Fatalf("country %q", s)
		}
		terms, err := searchTerms(s)
		if err == nil {
			if len(terms) > maxSearchTerms {
				t.Fatalf("%d terms", len(terms))
			}
			for _, term := range terms {
				if term == "" || strings.ContainsFunc(term, func(r rune) bool { return r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
					t.Fatalf("term %q of %q", term, s)
				}
			}
		}
		var v errs.Validation
		e := field.Email(&v, "email", s, false)
		if v.Err() == nil && (e != strings.ToLower(strings.TrimSpace(s)) || !strings.Contains(e, "@")) {
			t.Fatalf("email %q accepted as %q", s, e)
		}
		var w errs.Validation
		out := field.Text(&w, "f", s, 1, 150, false)
		if w.Err() == nil && (out == "" || strings.ContainsFunc(out, unicode.IsControl)) {
			t.Fatalf("text %q accepted as %q", s, out)
		}
	})
}
