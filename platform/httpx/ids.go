package httpx

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// idConstraint is the form of an id in a path: a positive integer in range
// of int64, written as the API writes it (no sign, no leading zero, no
// space; int is 64 bits on the platforms the server is built for). A path
// whose id is not so does not match the route: the router answers 404, as
// for any path the API does not have, whatever the method and before any
// authentication, as the seed's service did. The OpenAPI document keeps the
// parameter's own type (integer).
const idConstraint = `<regex(^[1-9][0-9]*$);int>`

// idRouter registers huma's routes on Fiber with their id parameters
// constrained: a parameter named id or ending in _id
// (TestBadIDIsNotFoundOnEveryRoute checks that these are exactly the integer
// parameters).
type idRouter struct{ fiber.Router }

func (r idRouter) Add(method, path string, handlers ...fiber.Handler) fiber.Router {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, ":"); ok && (name == "id" || strings.HasSuffix(name, "_id")) {
			segs[i] = s + idConstraint
		}
	}
	return r.Router.Add(method, strings.Join(segs, "/"), handlers...)
}

// routeLabel is the route's path as registered, without the constraints
// (logs and metrics name /api/clients/:id/).
func routeLabel(path string) string { return strings.ReplaceAll(path, idConstraint, "") }
