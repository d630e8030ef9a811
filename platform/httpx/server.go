// Package httpx is the HTTP face of the API: the Fiber app with huma on top,
// the error handler that writes every error as the contract's JSON, the
// authentication and authorization that run before every route, pagination,
// ordering and the route type modules contribute.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/reqctx"
	"crm/platform/tenant"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
)

// BodyLimit is the largest request body served (413 above it).
const BodyLimit = 1 << 20

// APIVersion is the version of the API's contract in the OpenAPI document.
// It is not the build's version, which no public answer reveals.
const APIVersion = "1.0.0"

// Options are what the server needs from the rest of the platform.
type Options struct {
	Log        *slog.Logger
	DB         *bun.DB
	Authz      *authz.Authorizer
	Signer     *auth.Signer
	Authn      auth.Authenticator
	Routes     []Route
	TrustProxy bool
	DBTimeout  time.Duration
	// Observe, when set, is told about every finished request (metrics).
	Observe Observer
	// Setup runs on the Fiber app before the routes (CORS, metrics, docs).
	Setup []func(app *fiber.App)
}

// Observer is told about every finished request (metrics).
type Observer func(route, method string, status int, elapsed time.Duration)

// Server is the Fiber app and its huma API.
type Server struct {
	App    *fiber.App
	API    huma.API
	Routes []Route
	opts   Options
	tokens tokenCache
}

type ctxKey int

const failureKey ctxKey = 0

// failure is the cause of a request's 5xx answer, kept by whichever layer
// wrote the answer (Fiber's error handler, huma, a panic) for the one log
// line of the request (frame): the client sees only the public detail.
type failure struct {
	err   *errs.Error
	stack string // a panic's
}

// noteFailure keeps e as the cause of the request's answer when it is a
// 5xx; the first one noted is the one logged.
func noteFailure(ctx context.Context, e *errs.Error) {
	if f, _ := ctx.Value(failureKey).(*failure); f != nil && f.err == nil && e.Status >= 500 {
		f.err = e
	}
}

// cause is what the log line says failed.
func (f *failure) cause() string {
	switch {
	case f.err == nil:
		return "no cause recorded: the 5xx answer was written without an error"
	case f.err.Unwrap() != nil:
		return f.err.Unwrap().Error()
	}
	return f.err.Detail
}

// noteHumaFailure is a huma transformer: huma writes a handler's error and
// its own failures itself, without returning to Fiber's error handler, and
// every error it writes is an *errs.Error (newHumaError).
func noteHumaFailure(ctx huma.Context, _ string, v any) (any, error) {
	if e, ok := v.(*errs.Error); ok {
		noteFailure(ctx.Context(), e)
	}
	return v, nil
}

func init() {
	huma.NewError = newHumaError
	huma.NewErrorWithContext = func(_ huma.Context, status int, msg string, e ...error) huma.StatusError {
		return newHumaError(status, msg, e...)
	}
}

// newHumaError turns huma's own errors (validation, parsing, body size) and
// unexpected handler errors into the contract's errors. Validation is 400.
// An *errs.Error among the causes is the answer itself (authenticate's).
// A 5xx shows no internals: its causes are kept for the log line.
func newHumaError(status int, msg string, list ...error) huma.StatusError {
	for _, e := range list {
		var ae *errs.Error
		if errors.As(e, &ae) {
			return ae
		}
	}
	if status >= http.StatusInternalServerError {
		cause := errors.Join(list...)
		if cause == nil {
			cause = errors.New(msg)
		}
		if status == http.StatusInternalServerError {
			return FromError(cause) // a database out of reach is 503
		}
		return errs.Wrap(status, http.StatusText(status)+".", cause)
	}
	if status == http.StatusUnprocessableEntity {
		status = http.StatusBadRequest
	}
	out := &errs.Error{Status: status, Detail: msg}
	var v errs.Validation
	for _, e := range list {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			det := d.ErrorDetail()
			field := det.Location
			for _, p := range []string{"body.", "query.", "path.", "header."} {
				field = strings.TrimPrefix(field, p)
			}
			msg := det.Message
			if rest, ok := strings.CutPrefix(msg, "expected required property "); ok && (field == "body" || field == "") {
				field, msg = strings.TrimSuffix(rest, " to be present"), "This field is required."
			}
			if field == "" {
				field = "body"
			}
			v.Add(field, msg)
			continue
		}
		v.Add("body", e.Error())
	}
	switch status {
	case http.StatusBadRequest:
		if ve, ok := v.Err().(*errs.Error); ok {
			out = ve
			if msg == "request body is required" {
				out.Detail = "Request body is required."
			}
		} else if msg != "" {
			out.Detail = upperFirst(msg) + "."
		}
	case http.StatusRequestEntityTooLarge:
		out.Detail = "Request body too large (limit 1 MiB)."
	case http.StatusUnsupportedMediaType:
		out.Detail = "Unsupported media type: send application/json."
	default:
		if out.Detail == "" {
			out.Detail = http.StatusText(status) + "."
		}
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// FromError maps any error to the contract's error: errs.Error as is, a
// database out of reach to 503, the rest to a 500 without internals.
func FromError(err error) *errs.Error {
	var ae *errs.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case db.IsNoRows(err):
		return errs.NotFound()
	case db.Classify(err) == db.KindUnavailable:
		return errs.Unavailable(err)
	case db.Classify(err) == db.KindUnique:
		return errs.Wrap(http.StatusConflict, "A row with these values already exists.", err)
	case db.Classify(err) == db.KindForeignKey:
		return errs.Wrap(http.StatusConflict, "Other rows still depend on this one.", err)
	}
	return errs.Wrap(http.StatusInternalServerError, "Internal server error.", err)
}

// New builds the app: middleware, huma, every route with its check.
func New(o Options) (*Server, error) {
	s := &Server{opts: o}
	app := fiber.New(fiber.Config{
		AppName:               "crm",
		DisableStartupMessage: true,
		BodyLimit:             BodyLimit,
		ReadBufferSize:        16 << 10, // request line and headers up to 8 KiB are served
		ErrorHandler:          s.errorHandler,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		ProxyHeader:           proxyHeader(o.TrustProxy),
	})
	s.App = app
	app.Use(s.frame, textOnly)
	for _, f := range o.Setup {
		f(app)
	}

	cfg := huma.Config{
		OpenAPI: &huma.OpenAPI{
			OpenAPI: "3.1.0",
			Info:    &huma.Info{Title: "CRM API", Version: APIVersion},
			Components: &huma.Components{
				Schemas: huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer),
				SecuritySchemes: map[string]*huma.SecurityScheme{
					"Bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: "`Authorization: Bearer <token>`, the token from POST /api/auth/login/."},
					"Token":  {Type: "apiKey", In: "header", Name: "Authorization", Description: "The seed's scheme: `Authorization: Token <token>`."},
				},
			},
		},
		OpenAPIPath:   "/api/openapi",
		Transformers:  []huma.Transformer{noteHumaFailure},
		Formats:       map[string]huma.Format{"application/json": huma.DefaultJSONFormat, "json": huma.DefaultJSONFormat},
		DefaultFormat: "application/json",
	}
	describeAPI(cfg.OpenAPI) // openapi.go: description, servers, tags, error responses
	cfg.AllowAdditionalPropertiesByDefault = true
	cfg.FieldsOptionalByDefault = false
	api := humafiber.NewWithGroup(app, idRouter{app}, cfg)
	s.API = api
	api.UseMiddleware(s.authenticate)

	pol := o.Authz.Policy()
	routes := append([]Route(nil), o.Routes...)
	routes = append(routes, s.healthRoutes()...)
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Op.Path < routes[j].Op.Path })
	var unknown []string
	for i := range routes {
		r := &routes[i]
		op := r.Op
		if op.Metadata == nil {
			op.Metadata = map[string]any{}
		}
		op.Metadata["crm.route"] = r
		if !r.Public {
			if !pol.Known(r.Object, r.Action) {
				unknown = append(unknown, fmt.Sprintf("%s %s (%s, %s)", op.Method, op.Path, r.Object, r.Action))
			}
			op.Security = []map[string][]string{{"Bearer": {}}, {"Token": {}}}
			op.Errors = append(op.Errors, 401, 403)
		}
		op.Errors = append(op.Errors, 400)
		r.register(api, op)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("routes whose object and action no policy line mentions: %s", strings.Join(unknown, "; "))
	}
	s.Routes = routes
	// No catch-all route: Fiber answers a path no route has with 404 and a
	// path served for other methods with 405 and Allow, both through
	// errorHandler as JSON.
	return s, nil
}

func proxyHeader(trust bool) string {
	if trust {
		return fiber.HeaderXForwardedFor
	}
	return ""
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// frame gives every request an id, its caller's address, a time limit, the
// security headers, and one JSON log line at its end: at level ERROR with
// the cause for a 5xx, whichever layer answered it.
func (s *Server) frame(c *fiber.Ctx) error {
	start := time.Now()
	rid := c.Get("X-Request-ID")
	if validRequestID(rid) {
		rid = strings.Clone(rid)
	} else {
		rid = newRequestID()
	}
	c.Locals("rid", rid)
	c.Set("X-Request-ID", rid)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Cache-Control", "no-store")
	ip := strings.Clone(c.IP())
	ctx := reqctx.With(c.UserContext(), rid, ip)
	f := &failure{}
	ctx = context.WithValue(ctx, failureKey, f)
	var cancel context.CancelFunc
	if s.opts.DBTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.opts.DBTimeout)
		defer cancel()
	}
	c.SetUserContext(ctx)

	if err := next(c, f); err != nil {
		// The status of a returned error is set by the error handler: run it
		// now so the log and the metrics see the real status.
		if herr := s.errorHandler(c, err); herr != nil {
			c.Status(http.StatusInternalServerError)
			noteFailure(ctx, errs.Wrap(http.StatusInternalServerError, "Internal server error.", herr))
		}
	}
	status := c.Response().StatusCode()
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "/" && r.Path != "" {
		route = routeLabel(r.Path)
	}
	elapsed := time.Since(start)
	if s.opts.Observe != nil {
		s.opts.Observe(route, c.Method(), status, elapsed)
	}
	level := slog.LevelInfo
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	if s.opts.Log.Enabled(ctx, level) {
		attrs := []slog.Attr{slog.String("request_id", rid), slog.String("method", c.Method()), slog.String("route", route),
			slog.String("path", c.Path()), slog.Int("status", status), slog.Duration("elapsed", elapsed), slog.String("ip", ip)}
		if level == slog.LevelError {
			attrs = append(attrs, slog.String("error", f.cause()))
			if f.stack != "" {
				attrs = append(attrs, slog.String("stack", f.stack))
			}
		}
		s.opts.Log.LogAttrs(ctx, level, "request", attrs...)
	}
	return nil
}

// next runs the rest of the request; a panic becomes a 500 whose cause, with
// its stack, is kept for the log line (the client reads no more than
// "Internal server error.").
func next(c *fiber.Ctx, f *failure) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f.stack = string(debug.Stack())
			err = errs.Wrap(http.StatusInternalServerError, "Internal server error.", fmt.Errorf("panic: %v", r))
		}
	}()
	return c.Next()
}

// errorHandler writes any error as the contract's JSON.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	var out *errs.Error
	if errors.As(err, &fe) {
		out = &errs.Error{Status: fe.Code}
		switch fe.Code {
		case http.StatusNotFound:
			out.Detail = "Not found."
		case http.StatusMethodNotAllowed:
			out.Detail = fmt.Sprintf("Method %q not allowed.", c.Method())
		case http.StatusRequestEntityTooLarge:
			out.Detail = "Request body too large (limit 1 MiB)."
			drainBeforeClose(c)
		case http.StatusRequestHeaderFieldsTooLarge:
			out.Detail = "Request header fields too large."
			drainBeforeClose(c)
		default:
			out.Detail = http.StatusText(fe.Code) + "."
			if fe.Code >= 500 {
				out = errs.Wrap(http.StatusInternalServerError, "Internal server error.", fe)
			}
		}
	} else {
		out = FromError(err)
	}
	noteFailure(c.UserContext(), out)
	if out.RetryAfter > 0 {
		c.Set("Retry-After", fmt.Sprint(out.RetryAfter))
	}
	// Set here too: the server answers 413 and 431 itself, without frame.
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Cache-Control", "no-store")
	return c.Status(out.Status).JSON(out)
}

// authenticate runs before every huma route: it verifies the token, loads
// the caller, puts the account in the context (the only place that does) and
// checks the route's object and action against the policy.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	r, _ := ctx.Operation().Metadata["crm.route"].(*Route)
	if r == nil || r.Public {
		next(ctx)
		return
	}
	fail := func(e *errs.Error) {
		if e.Status == http.StatusUnauthorized {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="api"`)
		}
		_ = huma.WriteErr(s.API, ctx, e.Status, e.Detail, e)
	}
	h := ctx.Header("Authorization")
	if h == "" {
		fail(errs.Unauthenticated(""))
		return
	}
	tok, ok := auth.TokenFromHeader(h)
	if !ok {
		fail(errs.Unauthenticated("Invalid Authorization header: use 'Bearer <token>' or 'Token <token>'."))
		return
	}
	claims, err := s.tokens.verify(s.opts.Signer, tok, time.Now())
	if err != nil {
		fail(errs.Unauthenticated("Invalid or expired token."))
		return
	}
	// The request's database work (PostgreSQL) carries the token's account
	// for row-level security from the first query on, the caller's lookup
	// included: a transaction for a write, one connection for a read. It
	// ends when the handler returns (or here, if it never ran).
	m := ctx.Method()
	rctx := db.BeginRequest(ctx.Context(), s.opts.DB, claims.AccountID, m == http.MethodGet || m == http.MethodHead)
	defer func() { _ = db.EndRequest(rctx, true) }()
	p, err := s.opts.Authn.Authenticate(rctx, claims)
	if err != nil {
		fail(FromError(err))
		return
	}
	// A route the caller may not use on any row is 403 here. A route that
	// changes the row its path names is answered on that row (authz.Allow):
	// a caller who reads the object gets 404 for a row they cannot read, and
	// only then 403.
	pol := s.opts.Authz.Policy()
	if pol.ScopeOf(p.Role, p.Permissions, p.AccountID, r.Object, r.Action) == authz.None &&
		(!r.onRow() || pol.ScopeOf(p.Role, p.Permissions, p.AccountID, r.Object, "read") == authz.None) {
		fail(errs.Forbidden(""))
		return
	}
	c := auth.WithPrincipal(rctx, p)
	c = tenant.WithAccount(c, p.AccountID)
	if r.onRow() {
		c = authz.OnRow(c, r.Object, r.Action)
	}
	next(huma.WithContext(ctx, c))
}

// DB is the database the server checks for readiness.
func (s *Server) DB() *bun.DB { return s.opts.DB }

// Start listens on addr in the background.
func (s *Server) Start(addr string) error {
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	go func() {
		if err := s.Serve(ln); err != nil {
			s.opts.Log.Error("http server stopped", "error", err.Error())
		}
	}()
	return nil
}

// Serve answers the connections of ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.App.Listener(drainListener{ln}) }

// Shutdown stops accepting and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.App.ShutdownWithContext(ctx)
}
