package httpx

import (
	"fmt"
	"net/url"
	"strings"

	"crm/platform/config"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
)

// CORS headers: what a browser frontend may send and read.
const (
	corsAllowHeaders  = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
	corsExposeHeaders = "X-Request-ID, Retry-After, WWW-Authenticate, Idempotent-Replayed"
	corsAllowMethods  = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
)

// CORS builds the middleware that lets browser frontends of the allowed
// origins (CRM_CORS_ORIGINS) call the API. No origin: nil, and no CORS
// header is ever sent. "*" allows any origin, never with credentials. A
// preflight (OPTIONS with Access-Control-Request-Method) is answered 204
// here; for an origin not on the list it carries no Access-Control-Allow-*
// header, so the browser refuses the call.
func CORS(origins []string, credentials bool) (fiber.Handler, error) {
	var list []string
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			norm, err := normalizeOrigin(o)
			if err != nil {
				return nil, err
			}
			o = norm
		}
		list = append(list, o)
	}
	if len(list) == 0 {
		return nil, nil
	}
	joined := strings.Join(list, ",")
	if strings.Contains(","+joined+",", ",*,") {
		if credentials {
			return nil, &config.Error{Setting: "CRM_CORS_ORIGINS", Problem: "is '*', which browsers refuse with CRM_CORS_CREDENTIALS=true: list the origins"}
		}
		joined = "*"
	}
	return cors.New(cors.Config{
		AllowOrigins:     joined,
		AllowCredentials: credentials,
		AllowHeaders:     corsAllowHeaders,
		AllowMethods:     corsAllowMethods,
		ExposeHeaders:    corsExposeHeaders,
		MaxAge:           600,
	}), nil
}

// normalizeOrigin checks that o is scheme://host[:port] and lowercases it.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", &config.Error{Setting: "CRM_CORS_ORIGINS", Problem: fmt.Sprintf("has %q, which is not an origin: write scheme://host[:port], like https://app.example.com", o)}
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}
