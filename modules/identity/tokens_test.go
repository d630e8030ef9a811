package identity_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/auth"
	"crm/platform/config"

	"github.com/golang-jwt/jwt/v5"
)

// tokenPart decodes one JSON segment of a JWT.
func tokenPart(t *testing.T, token string, i int) map[string]any {
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

func tokenSegment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// expect401 checks the contract's answer to a bad credential.
func expect401(t *testing.T, e *identitytest.Env, name, token string) {
	t.Helper()
	r := e.Do(apptest.Request{Method: http.MethodGet, Path: "/api/auth/me/", Headers: map[string]string{"Authorization": "Bearer " + token}})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("%s: %s", name, r)
	}
	if d, _ := r.Map(t)["detail"].(string); d == "" || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("%s: 401 without detail or WWW-Authenticate: %s %v", name, r.Body, r.Header)
	}
}

// TestBadTokensAre401 sends forged, expired and revoked tokens through the
// real app: each is a 401 with a JSON detail.
func TestBadTokensAre401(t *testing.T) {
	e := identitytest.New(t, nil)
	acme := e.Account("Acme")
	globex := e.Account("Globex")
	emp := acme.Employee("employee")
	ctx := context.Background()

	good := emp.Token
	apptest.Expect(t, e.Get(good, "/api/auth/me/"), http.StatusOK)
	parts := strings.Split(good, ".")
	claims := tokenPart(t, good, 1)
	kid := tokenPart(t, good, 0)["kid"].(string)
	sid := claims["sid"].(string)
	secret := []byte(e.Config.JWTSecret)

	// sign makes a correctly signed token with the app's own key: only the
	// session lookup can refuse it.
	sign := func(m jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, m)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": claims["sub"], "acc": claims["acc"], "sid": sid, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	}
	tamper := func(k string, v any) string {
		p := tokenPart(t, good, 1)
		p[k] = v
		return parts[0] + "." + tokenSegment(t, p) + "." + parts[2]
	}
	header := func(alg string) string {
		return tokenSegment(t, map[string]any{"alg": alg, "typ": "JWT", "kid": kid})
	}
	otherAlg := func(m jwt.SigningMethod) string {
		tok := jwt.NewWithClaims(m, base())
		tok.Header["kid"] = kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	wrongKey := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, base())
		tok.Header["kid"] = kid
		s, _ := tok.SignedString([]byte("another-secret-0123456789-0123456789-xyz"))
		return s
	}
	signedBy := func(m jwt.MapClaims) string { return sign(m) }
	expired := base()
	expired["iat"], expired["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	otherAccount := base()
	otherAccount["acc"] = globex.ID
	otherEmployee := base()
	otherEmployee["sub"] = strconv.FormatInt(acme.Owner.ID, 10)
	unknownSession := base()
	unknownSession["sid"] = "no-such-session"

	cases := map[string]string{
		"payload: other account":           tamper("acc", globex.ID),
		"payload: other employee":          tamper("sub", strconv.FormatInt(acme.Owner.ID, 10)),
		"payload: longer life":             tamper("exp", time.Now().Add(1000*time.Hour).Unix()),
		"signature tampered":               parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2][:4]) + parts[2][4:] + "x",
		"signature removed":                parts[0] + "." + parts[1] + ".",
		"alg none":                         header("none") + "." + parts[1] + ".",
		"alg none with signature":          header("none") + "." + parts[1] + "." + parts[2],
		"alg HS384 with the right key":     otherAlg(jwt.SigningMethodHS384),
		"alg HS512 with the right key":     otherAlg(jwt.SigningMethodHS512),
		"alg RS256 header":                 header("RS256") + "." + parts[1] + "." + parts[2],
		"wrong key":                        wrongKey(),
		"unknown kid":                      tokenSegment(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "ffffffffffff"}) + "." + parts[1] + "." + parts[2],
		"expired":                          signedBy(expired),
		"signed, other account's id":       signedBy(otherAccount),
		"signed, session of someone else":  signedBy(otherEmployee),
		"signed, session that never was":   signedBy(unknownSession),
		"not a JWT":                        "hello",
		"Basic credentials in bearer slot": base64.StdEncoding.EncodeToString([]byte("a:b")),
	}
	for name, tok := range cases {
		expect401(t, e, name, tok)
	}
	// Schemes other than Bearer and Token are refused as well.
	for _, h := range []string{"Basic " + good, good, "Bearer", "Token"} {
		r := e.Do(apptest.Request{Method: http.MethodGet, Path: "/api/auth/me/", Headers: map[string]string{"Authorization": h}})
		if r.Status != http.StatusUnauthorized || r.Map(t)["detail"] == nil {
			t.Fatalf("Authorization %q: %s", h[:min(len(h), 10)], r)
		}
	}
	// The control: the signed token with the right claims works, so the
	// refusals above are the forgeries', not the helper's.
	apptest.Expect(t, e.Get(signedBy(base()), "/api/auth/me/"), http.StatusOK)

	// A revoked session (logout).
	second := e.Login(emp.Email, identitytest.Password)
	apptest.Expect(t, e.Post(second, "/api/auth/logout/", nil), http.StatusOK)
	expect401(t, e, "logged out", second)
	apptest.Expect(t, e.Get(good, "/api/auth/me/"), http.StatusOK)

	// A session row that no longer exists.
	third := e.Login(emp.Email, identitytest.Password)
	if _, err := e.DB.NewDelete().TableExpr("sessions").Where("id = ?", tokenPart(t, third, 1)["sid"]).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	expect401(t, e, "deleted session", third)

	// An expired session row, the token still within its own life.
	fourth := e.Login(emp.Email, identitytest.Password)
	if _, err := e.DB.NewUpdate().Table("sessions").Set("expires_at = ?", time.Now().Add(-time.Minute).UTC()).Where("id = ?", tokenPart(t, fourth, 1)["sid"]).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	expect401(t, e, "expired session", fourth)

	// A deactivated employee, even with a session left live (the flag
	// alone refuses).
	if _, err := e.DB.NewUpdate().Table("employees").Set("is_active = ?", false).Where("id = ?", emp.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	expect401(t, e, "inactive employee, live session", good)
	if _, err := e.DB.NewUpdate().Table("employees").Set("is_active = ?", true).Where("id = ?", emp.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	apptest.Expect(t, e.Get(good, "/api/auth/me/"), http.StatusOK)
	// Deactivated through the API: every session revoked.
	apptest.Expect(t, e.Delete(acme.Owner.Token, "/api/employees/"+itoa(emp.ID)+"/"), http.StatusNoContent)
	expect401(t, e, "deleted employee", good)
	apptest.Expect(t, e.Patch(acme.Owner.Token, "/api/employees/"+itoa(emp.ID)+"/", map[string]any{"is_active": true}), http.StatusOK)
	expect401(t, e, "reactivated employee, old token", good)
}

// TestKeyRotationOverHTTP: three instances on one database, as a rolling
// rotation runs them: before (key A), during (key B, A previous), after
// (key B alone).
func TestKeyRotationOverHTTP(t *testing.T) {
	const keyA = "rotation-key-A-0123456789-0123456789-abcdef"
	const keyB = "rotation-key-B-0123456789-0123456789-abcdef"
	keys := func(current string, previous ...string) apptest.Option {
		return func(c *config.Config) { c.JWTSecret, c.JWTPreviousSecrets = current, previous }
	}
	before := identitytest.New(t, nil, keys(keyA))
	acme := before.Account("Acme")
	oldToken := acme.Owner.Token
	same := apptest.WithDatabaseURL(before.Config.DatabaseURL)
	during := identitytest.New(t, nil, same, keys(keyB, keyA))
	after := identitytest.New(t, nil, same, keys(keyB))

	kidA := tokenPart(t, oldToken, 0)["kid"]
	apptest.Expect(t, during.Get(oldToken, "/api/auth/me/"), http.StatusOK)
	newToken := during.Login(acme.Owner.Email, identitytest.Password)
	kidB := tokenPart(t, newToken, 0)["kid"]
	if kidB == kidA || kidB == nil {
		t.Fatalf("new token kid %v, old %v", kidB, kidA)
	}
	signer, err := auth.NewSigner(keyB, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, _ := signer.Sign(1, 1, "x", time.Now())
	if tokenPart(t, fresh, 0)["kid"] != kidB {
		t.Fatal("the new token is not under the current key's kid")
	}
	apptest.Expect(t, during.Get(newToken, "/api/auth/me/"), http.StatusOK)
	apptest.Expect(t, after.Get(newToken, "/api/auth/me/"), http.StatusOK)
	// The old key retired: its tokens are refused, the session notwithstanding.
	expect401(t, after, "token of a retired key", oldToken)
	// An instance still on the old key alone does not know the new one.
	expect401(t, before, "token of a key not yet known", newToken)
}
