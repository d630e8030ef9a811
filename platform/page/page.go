// Package page is how a list is asked for and answered in the domain: the
// page asked (number, size, ordering), the whitelist of an ordering, the
// filters' helpers, and the page found (its rows and the count over every
// page). httpx turns a request's query into a Request and a Result into the
// wire's envelope.
package page

import (
	"context"

	"github.com/uptrace/bun"
)

// DefaultSize and MaxSize follow the seed's DRF pagination.
const (
	DefaultSize = 50
	MaxSize     = 200
)

// Request is the page asked for; its zero value is the first page of
// DefaultSize rows in the list's default order.
type Request struct {
	Number   int    // from 1; 0 is the first page
	Size     int    // 0 is DefaultSize; above MaxSize is MaxSize, as DRF clamps
	Ordering string // "a,-b"; empty is the list's default
}

// Page is the page number, from 1.
func (r Request) Page() int { return max(r.Number, 1) }

// Limit is how many rows the page holds at most.
func (r Request) Limit() int {
	if r.Size <= 0 {
		return DefaultSize
	}
	return min(r.Size, MaxSize)
}

// Offset of the first row of the page.
func (r Request) Offset() int { return (r.Page() - 1) * r.Limit() }

// Result is the page found: its rows and how many rows match on every page.
type Result[T any] struct {
	Rows    []T
	Count   int
	Request Request
}

// More tells whether rows follow this page.
func (r Result[T]) More() bool { return r.Request.Offset()+len(r.Rows) < r.Count }

// PastEnd tells whether the page starts after the last row (the first page
// never does: an empty list has one, empty).
func (r Result[T]) PastEnd() bool { return r.Request.Page() > 1 && r.Request.Offset() >= r.Count }

// Map turns each row of r with f (a model into its view).
func Map[T, U any](r Result[T], f func(*T) U) Result[U] {
	out := Result[U]{Rows: make([]U, len(r.Rows)), Count: r.Count, Request: r.Request}
	for i := range r.Rows {
		out.Rows[i] = f(&r.Rows[i])
	}
	return out
}

// List runs the page query, then its count; q must already hold the filters
// and the scope. A page that is not full tells the count itself (its offset
// plus its rows): no count query then, which is every list shorter than a
// page (a client's payments, say).
func List[T any](ctx context.Context, q *bun.SelectQuery, r Request, order Ordering) (Result[T], error) {
	expr, err := order.SQL(r.Ordering)
	if err != nil {
		return Result[T]{}, err
	}
	out := Result[T]{Request: r}
	if err := q.Model(&out.Rows).OrderExpr(expr).Limit(int64(r.Limit())).Offset(int64(r.Offset())).Scan(ctx); err != nil {
		return Result[T]{}, err
	}
	out.Count = r.Offset() + len(out.Rows)
	if len(out.Rows) == r.Limit() {
		n, err := q.Count(ctx)
		if err != nil {
			return Result[T]{}, err
		}
		out.Count = int(n)
	}
	return out, nil
}
