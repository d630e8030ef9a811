package emailaddr_test

import (
	"strings"
	"testing"

	"crm/platform/emailaddr"
)

func TestValid(t *testing.T) {
	for _, e := range []string{"a@b.co", "jane.smith+crm@example.com", "o'brien@example.ie", "x@sub.domain.example"} {
		if !emailaddr.Valid(e) {
			t.Errorf("%q refused", e)
		}
	}
	for _, e := range []string{"", "a", "a@b", "@b.co", "a@", "a@b.co,c@d.co", "Jane <jane@example.com>", "jane@example.com (x)", "a b@c.de", "a@@b.co", "team: a@b.co;"} {
		if emailaddr.Valid(e) {
			t.Errorf("%q accepted", e)
		}
	}
}

// TestProblem: the length is counted in characters, not bytes (an address
// of 254 two-byte letters passes, 255 do not), then the syntax.
func TestProblem(t *testing.T) {
	at := "@example.com"
	for e, want := range map[string]string{
		"jane@example.com": "",
		strings.Repeat("é", emailaddr.MaxLen-len(at)) + at:   "",
		strings.Repeat("é", emailaddr.MaxLen-len(at)+1) + at: "Ensure this field has no more than 254 characters.",
		"jane@example":            "Enter a valid email address.",
		"Jane <jane@example.com>": "Enter a valid email address.",
	} {
		if got := emailaddr.Problem(e); got != want {
			t.Errorf("Problem(%d characters, %d bytes) = %q, want %q", len([]rune(e)), len(e), got, want)
		}
	}
}

// FuzzValid: whatever is valid is one address, normalized, with an @ and a
// dotted domain.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"a@b.co", " A@B.CO ", "Jane <j@x.com>", "\x00@x.com", "a@b", `"quoted"@x.com`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := emailaddr.Normalize(s)
		if e != strings.ToLower(strings.TrimSpace(s)) {
			t.Fatalf("normalize %q = %q", s, e)
		}
		if emailaddr.Valid(e) {
			at := strings.LastIndexByte(e, '@')
			if at <= 0 || !strings.Contains(e[at+1:], ".") || strings.ContainsAny(e, ",<>\x00") {
				t.Fatalf("%q accepted", e)
			}
		}
	})
}
