package httpx

import (
	"context"

	"crm/platform/page"
)

// The inputs and outputs that every module's object routes share, and the
// adapters from a service method to a huma handler: a route of the usual
// shape is one line in its module's route table, not a handler function of
// its own. Huma names the body's schema after the body's type (Payment,
// ClientInput), so these wrappers leave the OpenAPI document as it was.

// ID is the id of one object in its path.
type ID struct {
	ID int64 `path:"id" doc:"The object's id."`
}

// One is an answer that carries one object.
type One[T any] struct{ Body T }

// Reply is the answer of a handler that calls its service itself:
// return httpx.Reply(h.svc.Update(ctx, in.ID, in.Body.Name)).
func Reply[T any](v T, err error) (*One[T], error) { return &One[T]{Body: v}, err }

// NoContent is the empty answer of a delete.
type NoContent struct{}

// Body is the input of a route that takes only a body (a create).
type Body[B any] struct{ Body B }

// Update is the input of a route that takes an id and a body.
type Update[B any] struct {
	ID   int64 `path:"id" doc:"The object's id."`
	Body B
}

// Get answers the object that get finds by the path's id.
func Get[T any](get func(context.Context, int64) (T, error)) func(context.Context, *ID) (*One[T], error) {
	return func(ctx context.Context, in *ID) (*One[T], error) {
		v, err := get(ctx, in.ID)
		return Reply(v, err)
	}
}

// Create answers the object that create makes of the body.
func Create[B, T any](create func(context.Context, B) (T, error)) func(context.Context, *Body[B]) (*One[T], error) {
	return func(ctx context.Context, in *Body[B]) (*One[T], error) {
		v, err := create(ctx, in.Body)
		return Reply(v, err)
	}
}

// Change answers the object that change makes of the path's id and the body.
func Change[B, T any](change func(context.Context, int64, B) (T, error)) func(context.Context, *Update[B]) (*One[T], error) {
	return func(ctx context.Context, in *Update[B]) (*One[T], error) {
		v, err := change(ctx, in.ID, in.Body)
		return Reply(v, err)
	}
}

// Patch and Put serve a service's update, which takes whether the body
// replaces the object (PUT: every writable field) or patches it (PATCH: the
// fields sent).
func Patch[B, T any](update func(context.Context, int64, B, bool) (T, error)) func(context.Context, *Update[B]) (*One[T], error) {
	return Change(func(ctx context.Context, id int64, b B) (T, error) { return update(ctx, id, b, false) })
}

func Put[B, T any](update func(context.Context, int64, B, bool) (T, error)) func(context.Context, *Update[B]) (*One[T], error) {
	return Change(func(ctx context.Context, id int64, b B) (T, error) { return update(ctx, id, b, true) })
}

// Delete answers 204 once del has removed the object of the path's id.
func Delete(del func(context.Context, int64) error) func(context.Context, *ID) (*NoContent, error) {
	return func(ctx context.Context, in *ID) (*NoContent, error) {
		return &NoContent{}, del(ctx, in.ID)
	}
}

// List answers the page that list reads, for a list whose only parameters
// are the page and the ordering.
func List[T any](list func(context.Context, page.Request) (page.Result[T], error)) func(context.Context, *ListParams) (*PageOutput[T], error) {
	return func(ctx context.Context, in *ListParams) (*PageOutput[T], error) {
		r, err := list(ctx, in.Request())
		return Paged(in, r, err)
	}
}
