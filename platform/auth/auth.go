// Package auth holds the signed-in caller of a request (the Principal), the
// JWT that carries it, and the interface through which the identity module
// turns a token into a Principal.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"crm/platform/config"

	"github.com/golang-jwt/jwt/v5"
)

// Principal is the employee behind a request, read fresh from the database
// for every request (role, permissions and active flag included).
type Principal struct {
	EmployeeID  int64
	AccountID   int64
	AccountName string
	SessionID   string
	Email       string
	Name        string
	Role        string
	Permissions []string
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, or nil outside an authenticated request.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Authenticator turns a verified token's claims into the current Principal.
// The identity module provides it; it fails for a revoked session or an
// inactive employee.
type Authenticator interface {
	Authenticate(ctx context.Context, c *Claims) (*Principal, error)
}

// ErrInvalidToken is any token that does not verify.
var ErrInvalidToken = errors.New("auth: invalid token")

// Claims are the token's contents.
type Claims struct {
	EmployeeID int64  `json:"-"`
	AccountID  int64  `json:"acc"`
	SessionID  string `json:"sid"`
	jwt.RegisteredClaims
}

type key struct {
	id     string
	secret []byte
}

// Signer signs tokens with the current key and verifies them with the current
// or a previous one (picked by the token's kid), so keys rotate without
// signing everyone out.
type Signer struct {
	current  key
	keys     map[string][]byte
	ttl      time.Duration
	parser   *jwt.Parser
	keyFuncs jwt.Keyfunc
}

// NewSigner builds a Signer from the current secret and the previous ones.
func NewSigner(current string, previous []string, ttl time.Duration) (*Signer, error) {
	if len(current) < 32 {
		return nil, &config.Error{Setting: "CRM_JWT_SECRET", Problem: "is shorter than 32 characters: set it to a random string of 32 or more (openssl rand -hex 32)"}
	}
	s := &Signer{keys: map[string][]byte{}, ttl: ttl}
	s.current = key{id: keyID(current), secret: []byte(current)}
	s.keys[s.current.id] = s.current.secret
	for _, p := range previous {
		if p = strings.TrimSpace(p); p != "" {
			// A short previous key would verify forged tokens as well as a
			// short current one: the same rule for both.
			if len(p) < 32 {
				return nil, &config.Error{Setting: "CRM_JWT_PREVIOUS_SECRETS", Problem: "has an entry shorter than 32 characters: every retired key is one that signed tokens, of 32 characters or more"}
			}
			s.keys[keyID(p)] = []byte(p)
		}
	}
	s.parser = jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(5*time.Second))
	s.keyFuncs = func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := s.keys[kid]
		if !ok {
			return nil, ErrInvalidToken
		}
		return k, nil
	}
	return s, nil
}

func keyID(secret string) string {
	m := hmac.New(sha256.New, []byte("crm-key-id"))
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))[:12]
}

// TTL is how long a new token lives.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Sign issues a token for a session.
func (s *Signer) Sign(employeeID, accountID int64, sessionID string, now time.Time) (string, time.Time, error) {
	exp := now.Add(s.ttl)
	c := Claims{AccountID: accountID, SessionID: sessionID, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   strconv.FormatInt(employeeID, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = s.current.id
	signed, err := t.SignedString(s.current.secret)
	return signed, exp, err
}

// Verify checks signature (HS256 only), key id and expiry.
func (s *Signer) Verify(token string) (*Claims, error) {
	var c Claims
	t, err := s.parser.ParseWithClaims(token, &c, s.keyFuncs)
	if err != nil || !t.Valid {
		return nil, ErrInvalidToken
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || c.AccountID <= 0 || c.SessionID == "" {
		return nil, ErrInvalidToken
	}
	c.EmployeeID = id
	return &c, nil
}

// TokenFromHeader takes the token from "Bearer X" or "Token X".
func TokenFromHeader(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return "", false
	}
	if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "Token") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// NewSessionID returns a random, unguessable id.
func NewSessionID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SecretBeside returns the secret kept in DIR/jwt-secret, creating it with a
// random value the first time. Several processes may start together on one
// data folder: the file appears with its content at once (written aside,
// then linked into place, which fails if another process linked first), so
// each reads the one secret, never a file still being written.
func SecretBeside(dir string) (secret string, created bool, err error) {
	p := filepath.Join(dir, "jwt-secret")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), false, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", false, err
	}
	raw := make([]byte, 48)
	_, _ = rand.Read(raw)
	s := base64.RawURLEncoding.EncodeToString(raw)
	f, err := os.CreateTemp(dir, ".jwt-secret-*") // mode 0600
	if err != nil {
		return "", false, err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(s + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", false, err
	}
	if err := os.Link(f.Name(), p); err != nil {
		if os.IsExist(err) { // another process won the race: use its secret
			b, rerr := os.ReadFile(p)
			return strings.TrimSpace(string(b)), false, rerr
		}
		return "", false, err
	}
	return s, true, nil
}
