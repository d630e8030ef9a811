package httpx

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"crm/platform/errs"

	"github.com/danielgtaylor/huma/v2"
	"github.com/uptrace/bun"
)

// DefaultPageSize and MaxPageSize follow the seed's DRF pagination.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
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

// Limit and Offset of the requested page.
func (p *ListParams) Limit() int {
	if p.PageSize <= 0 {
		return DefaultPageSize
	}
	if p.PageSize > MaxPageSize {
		return MaxPageSize
	}
	return p.PageSize
}

func (p *ListParams) page() int {
	if p.Page <= 0 {
		return 1
	}
	return p.Page
}

// Offset of the first row of the page.
func (p *ListParams) Offset() int { return (p.page() - 1) * p.Limit() }

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

func (p *ListParams) link(page int) *string {
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	if page == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.Itoa(page))
	}
	s := p.base
	if enc := q.Encode(); enc != "" {
		s += "?" + enc
	}
	return &s
}

// NewPage builds the page for count matching rows; a page past the end is 404.
func NewPage[T any](p *ListParams, count int, results []T) (*PageOutput[T], error) {
	page := p.page()
	if page > 1 && p.Offset() >= count {
		return nil, errs.New(404, "Invalid page.")
	}
	if results == nil {
		results = []T{}
	}
	out := &PageOutput[T]{Body: Page[T]{Count: count, Results: results}}
	if p.Offset()+len(results) < count {
		out.Body.Next = p.link(page + 1)
	}
	if page > 1 {
		out.Body.Previous = p.link(page - 1)
	}
	return out, nil
}

// List runs the page query, then its count, and builds the page; q must
// already hold the filters and the scope. A page that is not full tells the
// count itself (its offset plus its rows): no count query then, which is
// every list shorter than a page (a client's payments, say).
func List[T any](ctx context.Context, q *bun.SelectQuery, p *ListParams, order Ordering) (*PageOutput[T], error) {
	var rows []T
	expr, err := order.SQL(p.Ordering)
	if err != nil {
		return nil, err
	}
	if err := q.Model(&rows).OrderExpr(expr).Limit(int64(p.Limit())).Offset(int64(p.Offset())).Scan(ctx); err != nil {
		return nil, err
	}
	count := p.Offset() + len(rows)
	if len(rows) == p.Limit() {
		n, err := q.Count(ctx)
		if err != nil {
			return nil, err
		}
		count = int(n)
	}
	return NewPage(p, count, rows)
}

// Ordering is the whitelist of one list: API field name to SQL column, plus
// the default order.
type Ordering struct {
	Fields  map[string]string
	Default string // e.g. "-created_at"
	// TieBreak is appended so pages are stable (e.g. "?TableAlias.id").
	TieBreak string
}

// SQL turns "?ordering=a,-b" into an ORDER BY expression, refusing a field
// the whitelist does not hold.
func (o Ordering) SQL(param string) (string, error) {
	if strings.TrimSpace(param) == "" {
		param = o.Default
	}
	var parts []string
	desc := false
	for _, f := range strings.Split(param, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		desc = strings.HasPrefix(f, "-")
		col, ok := o.Fields[strings.TrimPrefix(f, "-")]
		if !ok {
			allowed := make([]string, 0, len(o.Fields))
			for k := range o.Fields {
				allowed = append(allowed, k)
			}
			return "", errs.Invalid("ordering", "Unknown ordering field "+strconv.Quote(strings.TrimPrefix(f, "-"))+"; allowed: "+strings.Join(sorted(allowed), ", ")+".")
		}
		if desc {
			parts = append(parts, col+" DESC")
		} else {
			parts = append(parts, col+" ASC")
		}
	}
	if o.TieBreak != "" {
		if desc {
			parts = append(parts, o.TieBreak+" DESC")
		} else {
			parts = append(parts, o.TieBreak+" ASC")
		}
	}
	return strings.Join(parts, ", "), nil
}

func sorted(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// LikePattern escapes %, _ and \ so a search matches them literally, and
// wraps the term for a substring match (use with ESCAPE '\').
func LikePattern(term string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(term)) + "%"
}
