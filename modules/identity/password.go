package identity

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"unicode"

	"crm/platform/errs"

	"github.com/alexedwards/argon2id"
)

// Hasher hashes passwords with argon2id, at most GOMAXPROCS at once: each
// takes the configured memory (19 MiB by default) and a core, so a burst of
// logins queues instead of exhausting both.
type Hasher struct {
	params *argon2id.Params
	dummy  string // verified against for an unknown email, so it takes as long
	slots  chan struct{}
}

// NewHasher builds a hasher with the configured cost.
func NewHasher(memoryKiB, iterations uint32) *Hasher {
	p := &argon2id.Params{Memory: memoryKiB, Iterations: iterations, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	h := &Hasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	h.dummy, _ = argon2id.CreateHash("not a password of anybody", p)
	return h
}

// Hash returns the encoded argon2id hash of pw.
func (h *Hasher) Hash(pw string) (string, error) {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	defer collect()
	return argon2id.CreateHash(pw, h.params)
}

// Verify tells whether pw matches hash; an empty hash still costs a verify.
// When ctx ends (the request's time limit) before a slot is free, it
// answers a 503.
func (h *Hasher) Verify(ctx context.Context, pw, hash string) (bool, error) {
	done, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer done()
	return h.compare(pw, hash), nil
}

// acquire waits for a hashing slot and returns its release; when ctx ends
// first it answers a 503.
func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	select {
	case h.slots <- struct{}{}:
		return sync.OnceFunc(func() { <-h.slots }), nil
	case <-ctx.Done():
		return nil, errs.Unavailable(ctx.Err())
	}
}

// compare is Verify within a slot the caller holds.
func (h *Hasher) compare(pw, hash string) bool {
	defer collect()
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

// collect runs the garbage collector once a hash is done. Each argon2id
// hash allocates its memory cost (19 MiB by default) and drops it at once;
// left to the heap goal, the next hashes grow the heap instead of reusing
// it (three logins took the process from 51 to 91 MB). Collecting right
// away costs well under a millisecond beside the hash's tens.
func collect() { runtime.GC() }
