package identity

import (
	"strings"
	"unicode"

	"crm/platform/errs"

	"github.com/alexedwards/argon2id"
)

// Hasher hashes passwords with argon2id.
type Hasher struct {
	params *argon2id.Params
	dummy  string // verified against for an unknown email, so it takes as long
}

// NewHasher builds a hasher with the configured cost.
func NewHasher(memoryKiB, iterations uint32) *Hasher {
	p := &argon2id.Params{Memory: memoryKiB, Iterations: iterations, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	h := &Hasher{params: p}
	h.dummy, _ = argon2id.CreateHash("not a password of anybody", p)
	return h
}

// Hash returns the encoded argon2id hash of pw.
func (h *Hasher) Hash(pw string) (string, error) { return argon2id.CreateHash(pw, h.params) }

// Verify tells whether pw matches hash; an empty hash still costs a verify.
func (h *Hasher) Verify(pw, hash string) bool {
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(pw, h.dummy)
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok
}

// checkPassword applies the contract's rules: at least 8 characters, not
// all digits, not the email.
func checkPassword(field, pw, email string) error {
	switch {
	case len([]rune(pw)) < 8:
		return errs.Invalid(field, "Password must be at least 8 characters.")
	case len(pw) > 256:
		return errs.Invalid(field, "Password must be at most 256 characters.")
	case strings.IndexFunc(pw, func(r rune) bool { return !unicode.IsDigit(r) }) < 0:
		return errs.Invalid(field, "Password must not be all digits.")
	case email != "" && strings.EqualFold(strings.TrimSpace(pw), email):
		return errs.Invalid(field, "Password must not be the email.")
	}
	return nil
}
