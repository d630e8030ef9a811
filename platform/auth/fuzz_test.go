package auth_test

import (
	"strings"
	"testing"
	"time"

	"crm/platform/auth"
)

// FuzzTokenFromHeader: any Authorization header is parsed without panic,
// and a token is returned only for the Bearer and Token schemes.
func FuzzTokenFromHeader(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "Token abc", "bearer  x", "Basic dXNlcjpwYXNz", "", " ", "Bearer", "Token \x00", "Bearer \u00a0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := auth.TokenFromHeader(h)
		if !ok {
			if tok != "" {
				t.Fatalf("refused header %q returned token %q", h, tok)
			}
			return
		}
		if tok == "" || tok != strings.TrimSpace(tok) {
			t.Fatalf("header %q gave token %q", h, tok)
		}
		scheme, _, _ := strings.Cut(strings.TrimSpace(h), " ")
		if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
			t.Fatalf("scheme %q accepted", scheme)
		}
	})
}

// FuzzVerify: any string is verified without panic, and whatever verifies
// carries a usable employee, account and session.
func FuzzVerify(f *testing.F) {
	s, err := auth.NewSigner(secretA, []string{secretB}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	good, _, _ := s.Sign(7, 3, "session-1", time.Now())
	old, _, _ := signer(f, secretB).Sign(8, 4, "session-2", time.Now())
	f.Add(good)
	f.Add(old)
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiI3IiwiYWNjIjozLCJzaWQiOiJzIn0.")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(token)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if c.EmployeeID <= 0 || c.AccountID <= 0 || c.SessionID == "" {
			t.Fatalf("verified token with claims %+v", c)
		}
	})
}
