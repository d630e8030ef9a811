package webhooks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"
)

// guard keeps endpoint URLs off the server's own network: loopback,
// private, link-local (cloud metadata included), unspecified, multicast,
// shared (CGNAT) and the other special-purpose ranges of the IANA
// registries, unless the operator allows private destinations
// (CRM_WEBHOOKS_ALLOW_PRIVATE). It checks a URL at registration and, since a
// name may resolve elsewhere later (DNS rebinding), every address the
// delivery client actually dials.
type guard struct {
	allowPrivate bool
	ssrf         *ssrf.Guardian
	resolver     *net.Resolver
}

func newGuard(allowPrivate bool) *guard {
	return &guard{allowPrivate: allowPrivate, ssrf: ssrf.New(ssrf.WithAnyPort()), resolver: net.DefaultResolver}
}

var errPrivate = errors.New("the URL points to a private, loopback, link-local or reserved address")

// checkAddr refuses an address of the server's own network.
func (g *guard) checkAddr(a netip.Addr) error {
	if g.allowPrivate {
		return nil
	}
	if err := g.ssrf.SafeAddr(a.Unmap()); err != nil {
		return errPrivate
	}
	return nil
}

// checkURL validates an endpoint URL: absolute http or https, a host, and
// (unless allowed) no address of the server's own network, after resolving
// a name. A name that does not resolve now is accepted: the dialer checks
// again at every delivery.
func (g *guard) checkURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("This field may not be blank.")
	}
	if len(raw) > 2000 {
		return "", errors.New("Ensure this field has no more than 2000 characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", errors.New("Enter a valid URL.")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("Only http and https URLs are allowed.")
	}
	if u.User != nil {
		return "", errors.New("Credentials in the URL are not allowed.")
	}
	host := u.Hostname()
	if host == "" {
		return "", errors.New("Enter a valid URL.")
	}
	if p := u.Port(); p != "" {
		if n, ok := parsePort(p); !ok || n == 0 {
			return "", errors.New("Enter a valid URL.")
		}
	}
	if g.allowPrivate {
		return raw, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if err := g.checkAddr(a); err != nil {
			return "", err
		}
		return raw, nil
	}
	lower := strings.ToLower(strings.TrimSuffix(host, "."))
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := g.resolver.LookupNetIP(rctx, "ip", lower)
	for _, a := range addrs {
		if err := g.checkAddr(a); err != nil {
			return "", err
		}
	}
	// Names that only the local resolver knows (single labels, searched in
	// the local domains, and *.localhost) point at our own network.
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") || !strings.Contains(lower, ".") {
		return "", errPrivate
	}
	_ = err // a name that does not resolve now is accepted: the dialer checks at delivery
	return raw, nil
}

func parsePort(s string) (int, bool) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
		if n > 65535 {
			return 0, false
		}
	}
	return n, true
}

// client is the HTTP client of the deliveries: no proxy, no redirects
// followed, and a dialer that refuses, after resolution, every address the
// guard refuses.
func (g *guard) client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !g.allowPrivate {
		dialer.Control = g.ssrf.Safe
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// isSSRF tells whether err is the dialer refusing an address.
func isSSRF(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedNetwork) || errors.Is(err, ssrf.ErrProhibitedPort)
}
