package httpx

import (
	"net/url"
	"strconv"
	"strings"

	"crm/platform/errs"
	"crm/platform/page"

	"github.com/danielgtaylor/huma/v2"
)

// ListParams are the pagination and ordering query parameters every list
// takes. Embed it in a list input.
type ListParams struct {
	Page     int    `query:"page" minimum:"1" maximum:"100000000" doc:"Page number, from 1 to 100000000. A page past the end is 404."`
	PageSize int    `query:"page_size" minimum:"1" doc:"Results per page: 50 by default, at most 200 (larger values are clamped to 200, as DRF does)."`
	Ordering string `query:"ordering" maxLength:"200" doc:"Sort field, '-' for descending; several separated by commas. Allowed fields are listed per endpoint."`
	base     string // scheme://host/path
	query    url.Values
}

// Resolve keeps the request URL for the next/previous links.
func (p *ListParams) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	scheme := "http"
	if ctx.TLS() != nil || strings.EqualFold(ctx.Header("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	p.base = scheme + "://" + strings.Clone(ctx.Host()) + u.Path
	p.query = u.Query()
	return nil
}

// Request is the page asked for, as the services take it.
func (p *ListParams) Request() page.Request {
	return page.Request{Number: p.Page, Size: p.PageSize, Ordering: p.Ordering}
}

// Page is the seed's DRF page: count, next, previous, results.
type Page[T any] struct {
	Count    int     `json:"count" doc:"Rows matching the filters, on every page."`
	Next     *string `json:"next" doc:"URL of the next page, or null."`
	Previous *string `json:"previous" doc:"URL of the previous page, or null."`
	Results  []T     `json:"results"`
}

// PageOutput wraps a Page as a response body.
type PageOutput[T any] struct {
	Body Page[T]
}

func (p *ListParams) link(n int) *string {
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	if n == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.Itoa(n))
	}
	s := p.base
	if enc := q.Encode(); enc != "" {
		s += "?" + enc
	}
	return &s
}

// Paged is every list handler's answer: the service's page r (or its error
// err) as the DRF envelope, with links on p's URL; a page past the end is
// 404.
func Paged[T any](p *ListParams, r page.Result[T], err error) (*PageOutput[T], error) {
	if err != nil {
		return nil, err
	}
	if r.PastEnd() {
		return nil, errs.New(404, "Invalid page.")
	}
	out := &PageOutput[T]{Body: Page[T]{Count: r.Count, Results: r.Rows}}
	if out.Body.Results == nil {
		out.Body.Results = []T{}
	}
	if r.More() {
		out.Body.Next = p.link(r.Request.Page() + 1)
	}
	if n := r.Request.Page(); n > 1 {
		out.Body.Previous = p.link(n - 1)
	}
	return out, nil
}
