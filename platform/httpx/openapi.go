package httpx

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// The OpenAPI document is completed here, from the platform's side, so each
// module declares only its paths, inputs and outputs: the API's description,
// its servers and tags, the error body and the error responses every route
// can give, the security of public routes, and a description of each
// operation that says who may call it. The document is self-contained (only
// local #/components references), for Postman and Insomnia.

// DefaultServerHost is the server the document names by default: `crm
// serve` on its default address. The docs page puts the server it is served
// from first.
const DefaultServerHost = "localhost:8080"

const apiDescription = `The CRM API: a multi-tenant client management API (accounts, employees,
clients, packages, payments, instalments). Its wire contract is the one of the
Django REST Framework service it replaces.

**Authentication.** ` + "`POST /api/auth/login/`" + ` with ` + "`{\"email\", \"password\"}`" + ` returns a
token. Send it as ` + "`Authorization: Bearer <token>`" + ` or, as the seed did,
` + "`Authorization: Token <token>`" + `. On the documentation page a successful
"Try it out" of the login authorizes the page with its token. Every route but
the login and the health checks needs a token; the account is always the
caller's own.

**Errors.** Every error is JSON: ` + "`{\"detail\": \"...\"}`" + `, and a validation error
(400) also names every failing field: ` + "`{\"detail\": \"...\", \"errors\": {\"field\": [\"message\"]}}`" + `.
401 unauthenticated, 403 not allowed, 404 missing or not visible to the
caller, 409 conflict, 413 body over 1 MiB, 415 not JSON, 429 too many failed
logins (with Retry-After), 503 database unavailable.

**Lists** are pages: ` + "`{\"count\", \"next\", \"previous\", \"results\"}`" + `, 50 rows by
default, ` + "`?page=N`" + `, ` + "`?page_size=N`" + ` up to 200; a page past the end is 404.
` + "`?ordering=field`" + ` or ` + "`?ordering=-field`" + ` sorts on the fields each list names.
Filters are query parameters, listed per route.

**Formats.** IDs are integers, timestamps RFC 3339 in UTC, dates
` + "`YYYY-MM-DD`" + `, money a decimal string with two places (` + "`\"999.99\"`" + `; a
request may send a number), currencies ISO 4217, countries ISO 3166-1 alpha-2.
Paths end with a slash; the same path without it answers the same.`

// tagDescriptions describe the tags the modules use. A tag not listed here
// still gets a plain description.
var tagDescriptions = map[string]string{
	"Auth":             "Sign in and out, and the signed-in employee.",
	"Accounts":         "The caller's own account (tenant). Accounts are created from the command line.",
	"Employees":        "The account's employees: roles, profiles, passwords and granular permissions.",
	"Clients":          "The account's clients, their assignment to a coach, closer and setter, and counts by status.",
	"Packages":         "The packages (offers) the account sells.",
	"Client packages":  "Packages sold to clients: price, payment schedule, dates.",
	"Payments":         "Payments received from clients (never deleted), and their statistics per currency.",
	"Installments":     "Scheduled instalments of a client package.",
	"Stripe customers": "The Stripe customer records of clients.",
	"Operations":       "Liveness and readiness probes for orchestrators and load balancers.",
	"Audit":            "The account's audit log: who changed what, and when (admins).",
	"Webhooks":         "Webhook endpoints that receive the account's events, signed, with their delivery log.",
	"Stripe":           "The account's Stripe settings, and the webhook Stripe calls for it.",
}

// errorDocs is what each error status means in this API, with an example
// body.
var errorDocs = map[int]struct {
	desc    string
	example map[string]any
}{
	400: {"Invalid input: every failing field is named under `errors`.", map[string]any{
		"detail": "Invalid input: email: Enter a valid email address.",
		"errors": map[string]any{"email": []string{"Enter a valid email address."}}}},
	401: {"No token, or an invalid, expired or revoked one.", map[string]any{"detail": "Authentication credentials were not provided."}},
	403: {"Signed in, but the caller's role or permissions do not allow this.", map[string]any{"detail": "You do not have permission to perform this action."}},
	404: {"Not found, or not visible to the caller (another account's rows never exist for it).", map[string]any{"detail": "Not found."}},
	409: {"Conflict: a duplicate, or other rows still depend on this one.", map[string]any{"detail": "A row with these values already exists."}},
	413: {"The request body is over 1 MiB.", map[string]any{"detail": "Request body too large (limit 1 MiB)."}},
	415: {"The request body is not JSON.", map[string]any{"detail": "Unsupported media type: send application/json."}},
	429: {"Too many failed logins for this email or from this address: wait for Retry-After seconds.", map[string]any{"detail": "Too many failed login attempts. Try again later."}},
	500: {"Unexpected failure; the body never shows internals (the X-Request-ID header finds it in the logs).", map[string]any{"detail": "Internal server error."}},
	503: {"The database is unavailable; retry later.", map[string]any{"detail": "Service temporarily unavailable."}},
}

// errorSchema is the contract's error body.
func errorSchema() *huma.Schema {
	return &huma.Schema{
		Type:        huma.TypeObject,
		Description: "The error body of every error response.",
		Required:    []string{"detail"},
		Properties: map[string]*huma.Schema{
			"detail": {Type: huma.TypeString, Description: "What went wrong, for a person.", Examples: []any{"Not found."}},
			"errors": {
				Type:        huma.TypeObject,
				Description: "Validation errors (400): each failing field with its messages.",
				AdditionalProperties: &huma.Schema{
					Type:  huma.TypeArray,
					Items: &huma.Schema{Type: huma.TypeString},
				},
			},
		},
		AdditionalProperties: true,
	}
}

// describeAPI fills the document's own fields and installs the hook that
// completes every operation.
func describeAPI(o *huma.OpenAPI) {
	o.Info.Description = apiDescription
	o.Info.License = &huma.License{Name: "Proprietary", Identifier: "LicenseRef-Proprietary"}
	o.Info.Contact = &huma.Contact{Name: "CRM API maintainers"}
	o.Servers = []*huma.Server{{
		URL:         "{scheme}://{host}",
		Description: "The API server: `crm serve` listens on localhost:8080 by default (CRM_HTTP_ADDR).",
		Variables: map[string]*huma.ServerVariable{
			"scheme": {Default: "http", Enum: []string{"http", "https"}, Description: "http, or https behind a TLS proxy."},
			"host":   {Default: DefaultServerHost, Description: "Host and port of the API."},
		},
	}}
	o.OnAddOperation = append(o.OnAddOperation, documentOperation)
}

// documentOperation completes one operation as it is added.
func documentOperation(oapi *huma.OpenAPI, op *huma.Operation) {
	r, _ := op.Metadata["crm.route"].(*Route)
	public := r == nil || r.Public

	// The contract's error body, under the name huma gave our error type.
	if oapi.Components != nil && oapi.Components.Schemas != nil {
		oapi.Components.Schemas.Map()["Error"] = errorSchema()
	}
	admitNulls(oapi, op)

	// Public routes say so: security-defined wants every operation to
	// declare its security, and an empty requirement means "none".
	if public && len(op.Security) == 0 {
		op.Security = []map[string][]string{{}}
	}

	hasPath, isList := false, false
	for _, p := range op.Parameters {
		if p == nil {
			continue
		}
		hasPath = hasPath || p.In == "path"
		isList = isList || (p.In == "query" && p.Name == "page")
	}
	documentErrors(op, errorCodes(op, public, hasPath || isList))

	op.Description = describeOperation(op, r, public, isList)
	for _, t := range op.Tags {
		addTag(oapi, t)
	}
}

// admitNulls applies admitNullWithoutType to the schemas registered by now
// (this operation's among them) and to the operation's own.
func admitNulls(oapi *huma.OpenAPI, op *huma.Operation) {
	if oapi.Components != nil && oapi.Components.Schemas != nil {
		for _, sc := range oapi.Components.Schemas.Map() {
			admitNullWithoutType(sc)
		}
	}
	for _, p := range op.Parameters {
		if p != nil {
			admitNullWithoutType(p.Schema)
		}
	}
	if op.RequestBody != nil {
		for _, m := range op.RequestBody.Content {
			admitNullWithoutType(m.Schema)
		}
	}
}

// errorCodes are the error statuses the operation may answer besides the
// ones its route declares; notFound: it reads a row by id or a page.
func errorCodes(op *huma.Operation, public, notFound bool) []int {
	codes := []int{}
	if notFound {
		codes = append(codes, http.StatusNotFound)
	}
	if op.RequestBody != nil {
		codes = append(codes, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	// Writes may meet a duplicate or rows that depend on this one (a POST
	// action such as the login creates nothing).
	if (op.Method == http.MethodPost && op.DefaultStatus == http.StatusCreated) ||
		op.Method == http.MethodPut || op.Method == http.MethodPatch || op.Method == http.MethodDelete {
		codes = append(codes, http.StatusConflict)
	}
	if isLogin(op) {
		codes = append(codes, http.StatusUnauthorized, http.StatusTooManyRequests)
	}
	if !public || isLogin(op) || op.OperationID == "readyz" {
		codes = append(codes, http.StatusServiceUnavailable)
	}
	return codes
}

// documentErrors adds the codes to the operation's responses and gives
// every error response the contract's body, its description and example.
func documentErrors(op *huma.Operation, codes []int) {
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	for _, c := range codes {
		if _, ok := op.Responses[strconv.Itoa(c)]; !ok {
			op.Responses[strconv.Itoa(c)] = &huma.Response{}
		}
	}
	// The API answers validation errors with 400, never 422.
	delete(op.Responses, "422")
	for code, resp := range op.Responses {
		status, err := strconv.Atoi(code)
		if err != nil || status < 400 || resp == nil {
			continue
		}
		doc, ok := errorDocs[status]
		if !ok {
			continue
		}
		resp.Description = doc.desc
		resp.Content = map[string]*huma.MediaType{"application/json": {
			Schema:  &huma.Schema{Ref: "#/components/schemas/Error"},
			Example: doc.example,
		}}
		if status == http.StatusTooManyRequests {
			resp.Headers = map[string]*huma.Param{"Retry-After": {
				Description: "Seconds to wait before trying again.",
				Schema:      &huma.Schema{Type: huma.TypeInteger},
			}}
		}
	}
}

// admitNullWithoutType fixes a nullable schema that has no type (a
// Nullable[T] field whose T documents itself without one, such as
// money.Amount, a number or a string): huma would write `type: ["", "null"]`,
// which is not JSON Schema. A schema without a type admits null already.
func admitNullWithoutType(s *huma.Schema) {
	if s == nil {
		return
	}
	if s.Nullable && s.Type == "" {
		s.Nullable = false
	}
	for _, p := range s.Properties {
		admitNullWithoutType(p)
	}
	admitNullWithoutType(s.Items)
	if ap, ok := s.AdditionalProperties.(*huma.Schema); ok {
		admitNullWithoutType(ap)
	}
	for _, list := range [][]*huma.Schema{s.OneOf, s.AnyOf, s.AllOf} {
		for _, x := range list {
			admitNullWithoutType(x)
		}
	}
	admitNullWithoutType(s.Not)
}

func isLogin(op *huma.Operation) bool {
	return op.Method == http.MethodPost && strings.TrimSuffix(op.Path, "/") == "/api/auth/login"
}

// describeOperation keeps the module's description (the summary when it has
// none) and adds who may call the operation and, for a list, its pages.
func describeOperation(op *huma.Operation, r *Route, public, isList bool) string {
	var b strings.Builder
	desc := strings.TrimSpace(op.Description)
	if desc == "" {
		desc = op.Summary
	}
	b.WriteString(desc)
	if !strings.HasSuffix(desc, ".") {
		b.WriteString(".")
	}
	if public {
		b.WriteString("\n\nPublic: no token needed.")
	} else {
		fmt.Fprintf(&b, "\n\nNeeds a token. Allowed when the caller's role or granular permissions grant `%s` / `%s` in the account's policy; otherwise 403 (and 404 for a row the caller may not see).", r.Object, r.Action)
	}
	if isList && !strings.Contains(desc, "page_size") {
		b.WriteString("\n\nPaginated: `{\"count\", \"next\", \"previous\", \"results\"}`, `?page=N`, `?page_size=N` (50 by default, at most 200); `?ordering=field` or `-field`.")
	}
	return b.String()
}

func addTag(oapi *huma.OpenAPI, name string) {
	if slices.ContainsFunc(oapi.Tags, func(t *huma.Tag) bool { return t.Name == name }) {
		return
	}
	desc, ok := tagDescriptions[name]
	if !ok {
		desc = name + "."
	}
	oapi.Tags = append(oapi.Tags, &huma.Tag{Name: name, Description: desc})
	slices.SortFunc(oapi.Tags, func(a, b *huma.Tag) int { return strings.Compare(a.Name, b.Name) })
}
