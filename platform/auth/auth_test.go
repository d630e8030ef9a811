package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/platform/auth"

	"github.com/golang-jwt/jwt/v5"
)

const (
	secretA = "first-secret-0123456789-0123456789-abcdef"
	secretB = "second-secret-0123456789-0123456789-abcdef"
)

func signer(t testing.TB, current string, previous ...string) *auth.Signer {
	t.Helper()
	s, err := auth.NewSigner(current, previous, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func segment(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// kidOf is the key id a signer puts in its tokens.
func kidOf(t testing.TB, s *auth.Signer) string {
	tok, _, err := s.Sign(1, 1, "sid", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return segment(t, tok, 0)["kid"].(string)
}

// forge signs claims with any method and key, with the given header kid.
func forge(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": "7", "acc": 3, "sid": "session-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func TestVerifyAcceptsItsOwnToken(t *testing.T) {
	s := signer(t, secretA)
	now := time.Now()
	tok, exp, err := s.Sign(7, 3, "session-1", now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.EmployeeID != 7 || c.AccountID != 3 || c.SessionID != "session-1" || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("claims = %+v", c)
	}
	if h := segment(t, tok, 0); h["alg"] != "HS256" || h["typ"] != "JWT" || h["kid"] == "" {
		t.Fatalf("header = %v", h)
	}
	// A hand-made token with the same claims and key verifies too (the
	// forgeries below differ from it by one thing each).
	if _, err := s.Verify(forge(t, jwt.SigningMethodHS256, []byte(secretA), kidOf(t, s), validClaims())); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
}

// TestVerifyRefusesForgeries: every way of bending a token is refused.
func TestVerifyRefusesForgeries(t *testing.T) {
	s := signer(t, secretA)
	kid := kidOf(t, s)
	good, _, err := s.Sign(7, 3, "session-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) jwt.MapClaims {
		c := validClaims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}

	tamperedPayload := func(k string, v any) string {
		p := segment(t, good, 1)
		p[k] = v
		return parts[0] + "." + encode(t, p) + "." + parts[2]
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		return string(b)
	}
	noneHeader := func(alg string) string {
		return encode(t, map[string]any{"alg": alg, "typ": "JWT", "kid": kid}) + "." + parts[1] + "."
	}
	// HS256 header on an RS256 signature, and the classic confusion: an
	// HMAC made with the "public key" while the header says RS256.
	rs := forge(t, jwt.SigningMethodRS256, rsaKey, kid, validClaims())

	cases := map[string]string{
		"empty":                        "",
		"garbage":                      "not-a-token",
		"two segments":                 parts[0] + "." + parts[1],
		"four segments":                good + ".x",
		"payload: other account":       tamperedPayload("acc", 4),
		"payload: other employee":      tamperedPayload("sub", "8"),
		"payload: other session":       tamperedPayload("sid", "session-2"),
		"payload: later expiry":        tamperedPayload("exp", time.Now().Add(1000*time.Hour).Unix()),
		"signature flipped":            parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"signature removed":            parts[0] + "." + parts[1] + ".",
		"signature of another token":   parts[0] + "." + parts[1] + "." + strings.Split(forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("sub", "9")), ".")[2],
		"alg none":                     noneHeader("none"),
		"alg None":                     noneHeader("None"),
		"alg NONE":                     noneHeader("NONE"),
		"alg none, library-made":       forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, validClaims()),
		"alg HS384, right key":         forge(t, jwt.SigningMethodHS384, []byte(secretA), kid, validClaims()),
		"alg HS512, right key":         forge(t, jwt.SigningMethodHS512, []byte(secretA), kid, validClaims()),
		"alg RS256":                    rs,
		"alg RS256 header, HS256 body": encode(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2],
		"alg HS256 header, RS256 body": parts[0] + "." + strings.Split(rs, ".")[1] + "." + strings.Split(rs, ".")[2],
		"wrong key, current kid":       forge(t, jwt.SigningMethodHS256, []byte(secretB), kid, validClaims()),
		"wrong key, its own kid":       forge(t, jwt.SigningMethodHS256, []byte(secretB), kidOf(t, signer(t, secretB)), validClaims()),
		"no kid":                       forge(t, jwt.SigningMethodHS256, []byte(secretA), "", validClaims()),
		"unknown kid":                  forge(t, jwt.SigningMethodHS256, []byte(secretA), "0123456789ab", validClaims()),
		"kid not a string":             encode(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": 1}) + "." + parts[1] + "." + parts[2],
		"expired":                      forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("exp", time.Now().Add(-time.Minute).Unix())),
		"no expiry":                    forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("exp", nil)),
		"issued in the future":         forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("iat", time.Now().Add(time.Hour).Unix())),
		"not valid yet":                forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("nbf", time.Now().Add(time.Hour).Unix())),
		"no subject":                   forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("sub", nil)),
		"subject not a number":         forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("sub", "admin")),
		"subject zero":                 forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("sub", "0")),
		"subject negative":             forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("sub", "-7")),
		"no account":                   forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("acc", nil)),
		"account as a string":          forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("acc", "3")),
		"no session":                   forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("sid", nil)),
		"expiry as a string":           forge(t, jwt.SigningMethodHS256, []byte(secretA), kid, with("exp", "tomorrow")),
	}
	for name, tok := range cases {
		if c, err := s.Verify(tok); err == nil {
			t.Errorf("%s: verified as %+v", name, c)
		}
	}
}

func TestExpiredTokenOfTheSigner(t *testing.T) {
	s := signer(t, secretA)
	tok, _, err := s.Sign(7, 3, "s", time.Now().Add(-time.Hour-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok); err == nil {
		t.Fatal("expired token verified")
	}
	// Within the 5 s leeway, still good.
	tok, _, _ = s.Sign(7, 3, "s", time.Now().Add(-time.Hour+time.Second))
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("token expiring now refused: %v", err)
	}
}

// TestKeyRotation: after a rotation the previous key still verifies its
// tokens while new tokens carry the current key's kid; retiring the
// previous key refuses its tokens.
func TestKeyRotation(t *testing.T) {
	before := signer(t, secretA)
	old, _, _ := before.Sign(7, 3, "s", time.Now())

	rotated := signer(t, secretB, secretA)
	if _, err := rotated.Verify(old); err != nil {
		t.Fatalf("token of the previous key refused after rotation: %v", err)
	}
	fresh, _, _ := rotated.Sign(7, 3, "s2", time.Now())
	if kid := segment(t, fresh, 0)["kid"]; kid != kidOf(t, signer(t, secretB)) || kid == kidOf(t, before) {
		t.Fatalf("new token kid %v", kid)
	}
	if _, err := rotated.Verify(fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := before.Verify(fresh); err == nil {
		t.Fatal("a signer that never had the new key verified its token")
	}
	// Spaces and empty entries in the list are ignored.
	if _, err := signer(t, secretB, " "+secretA+" ", "").Verify(old); err != nil {
		t.Fatalf("trimmed previous key: %v", err)
	}

	retired := signer(t, secretB)
	if _, err := retired.Verify(old); err == nil {
		t.Fatal("token of a retired key verified")
	}
}

func TestWeakSecretsRefused(t *testing.T) {
	if _, err := auth.NewSigner("short", nil, time.Hour); err == nil {
		t.Fatal("short current secret accepted")
	}
	if _, err := auth.NewSigner(secretA, []string{"short-previous"}, time.Hour); err == nil {
		t.Fatal("short previous secret accepted")
	}
}

func TestTokenFromHeader(t *testing.T) {
	ok := map[string]string{
		"Bearer abc":      "abc",
		"bearer abc":      "abc",
		"BEARER abc":      "abc",
		"Token abc":       "abc",
		"token abc":       "abc",
		"  Bearer  abc  ": "abc",
	}
	for h, want := range ok {
		if got, good := auth.TokenFromHeader(h); !good || got != want {
			t.Errorf("%q: %q %v", h, got, good)
		}
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Bearer    ", "abc", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "JWT abc", "Bearerabc", "Bearer\tabc"} {
		if got, good := auth.TokenFromHeader(h); good {
			t.Errorf("%q accepted as %q", h, got)
		}
	}
}

// TestSecretBesideSharedByProcessesStartingTogether: instances starting at
// once on one SQLite data folder without CRM_JWT_SECRET all get the one
// secret that the folder then keeps (the first run of each round creates
// it), never an empty one read while it was being written.
func TestSecretBesideSharedByProcessesStartingTogether(t *testing.T) {
	for round := range 20 {
		dir := t.TempDir()
		const n = 16
		got := make([]string, n)
		created := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], created[i], errs[i] = auth.SecretBeside(dir) })
		}
		wg.Wait()
		kept, err := os.ReadFile(filepath.Join(dir, "jwt-secret"))
		if err != nil {
			t.Fatal(err)
		}
		creators := 0
		for i := range n {
			if errs[i] != nil || got[i] != strings.TrimSpace(string(kept)) || len(got[i]) < 32 {
				t.Fatalf("round %d, caller %d: secret %q (%v), the folder keeps %q", round, i, got[i], errs[i], kept)
			}
			if created[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Fatalf("round %d: %d callers say they created the secret, want 1", round, creators)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".jwt-secret-*")); len(left) > 0 {
			t.Fatalf("round %d: temporary files left: %v", round, left)
		}
	}
}
