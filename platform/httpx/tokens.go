package httpx

import (
	"strings"
	"sync"
	"time"

	"crm/platform/auth"
)

// tokenCache remembers the claims of tokens whose signature verified, so a
// token sent again is not parsed and verified again (JSON decoding and
// HMAC were a third of the CPU of GET /api/auth/me/). The key is the whole
// token string, so only the very token that verified can hit; its expiry is
// checked on every use. Whether the session is still live is Authenticate's
// question, asked on every request all the same.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]*auth.Claims
}

const tokenCacheMax = 10000

func (c *tokenCache) verify(s *auth.Signer, token string, now time.Time) (*auth.Claims, error) {
	c.mu.Lock()
	cl, ok := c.m[token]
	c.mu.Unlock()
	if ok && cl.ExpiresAt != nil && now.Before(cl.ExpiresAt.Time) {
		return cl, nil
	}
	cl, err := s.Verify(token)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*auth.Claims{}
	}
	if len(c.m) >= tokenCacheMax {
		// Full: an arbitrary entry goes (a token dropped is verified again
		// when it comes back).
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	// The token may point into Fiber's reused request buffer: the key
	// must be a copy of its own.
	c.m[strings.Clone(token)] = cl
	return cl, nil
}
