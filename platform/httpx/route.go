package httpx

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"crm/platform/authz"
	"crm/platform/db"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/fx"
)

// Route is one typed endpoint a module contributes. It names the Casbin
// object and action checked before the handler runs, so no handler can forget
// its authorization; a Public route (login, health) is checked by nobody.
type Route struct {
	Op       huma.Operation
	Object   string
	Action   string
	Public   bool
	register func(api huma.API, op huma.Operation)
}

// Handle builds a route checked against object and action. The request's
// transaction (PostgreSQL) is committed when the handler succeeds and
// rolled back when it fails, before the answer is written, so a 2xx answer
// always means the write is durable.
func Handle[I, O any](op huma.Operation, object, action string, h func(context.Context, *I) (*O, error)) Route {
	return Route{Op: op, Object: object, Action: action, register: func(api huma.API, op huma.Operation) {
		huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
			out, err := h(ctx, in)
			if err == nil && !authz.Asked(ctx) {
				// A bug, not a refusal: the handler changed a row without the
				// scope rule. Its transaction (PostgreSQL) is rolled back.
				err = fmt.Errorf("%s %s answered without asking the scope rule (authz.Allow) for %s %s", op.Method, op.Path, object, action)
			}
			if cerr := db.EndRequest(ctx, err != nil); cerr != nil && err == nil {
				return nil, FromError(cerr)
			}
			return out, err
		})
	}}
}

// onRow tells whether the route changes the row its path names (an {id}):
// its action is then answered on that row.
func (r *Route) onRow() bool {
	return r.Action != "read" && strings.Contains(r.Op.Path, "{id}")
}

// Public builds a route any caller may reach (it authenticates itself, if at all).
func Public[I, O any](op huma.Operation, h func(context.Context, *I) (*O, error)) Route {
	return Route{Op: op, Public: true, register: func(api huma.API, op huma.Operation) {
		huma.Register(api, op, h)
	}}
}

// Op is a shorthand for an operation.
func Op(method, path, id, summary string, tags ...string) huma.Operation {
	status := 0
	switch method {
	case http.MethodPost:
		status = http.StatusCreated
	case http.MethodDelete:
		status = http.StatusNoContent
	}
	return huma.Operation{Method: method, Path: path, OperationID: id, Summary: summary, Tags: tags, DefaultStatus: status}
}

// AsRoutes provides a constructor's []Route to the platform's route group.
func AsRoutes(constructor any) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.ResultTags(`group:"routes,flatten"`)))
}

// Action is an operation that answers 200 whatever its method (login,
// logout, change_password: a POST that creates nothing).
func Action(method, path, id, summary string, tags ...string) huma.Operation {
	op := Op(method, path, id, summary, tags...)
	op.DefaultStatus = http.StatusOK
	return op
}
