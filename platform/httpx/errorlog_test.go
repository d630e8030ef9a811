package httpx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/httpx"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/fx"
)

// logBuffer collects the app's JSON log lines.
type logBuffer struct{ apptest.Buffer }

// linesOf returns the log lines that carry the request id.
func (l *logBuffer) linesOf(t *testing.T, requestID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q", sc.Text())
		}
		if m["request_id"] == requestID {
			out = append(out, m)
		}
	}
	return out
}

// capturedLogs makes the app log, in the format of boot.NewLogger, into a
// buffer, every level.
func capturedLogs(l *logBuffer) fx.Option {
	return fx.Decorate(func() *slog.Logger {
		return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
}

// failingRoutes are test-only routes that fail in the layers below a
// handler's error: a panic, and a body huma cannot marshal.
var failingRoutes = httpx.AsRoutes(func() []httpx.Route {
	type nanOutput struct {
		Body struct {
			Value float64 `json:"value"`
		}
	}
	return []httpx.Route{
		httpx.Public(httpx.Op(http.MethodGet, "/api/test-panic/{id}/", "testPanicID", "Panics (tests only)"),
			func(context.Context, *struct {
				ID string `path:"id"`
			}) (*struct{}, error) {
				panic("boom: secret-internal-detail")
			}),
		httpx.Public(httpx.Op(http.MethodGet, "/api/test-nan/", "testNaN", "Answers a body JSON cannot hold (tests only)"),
			func(context.Context, *struct{}) (*nanOutput, error) {
				out := &nanOutput{}
				out.Body.Value = math.NaN()
				return out, nil
			}),
	}
})

// failingMiddleware is a test-only middleware that fails before any route:
// with an error of its own, and with a Fiber 5xx.
var failingMiddleware = fx.Provide(fx.Annotate(func() func(*fiber.App) {
	return func(app *fiber.App) {
		app.Use("/api/test-middleware", func(c *fiber.Ctx) error {
			if c.Query("fiber") != "" {
				return fiber.NewError(http.StatusBadGateway, "upstream secret-internal-detail")
			}
			return errors.New("middleware: secret-internal-detail")
		})
	}
}, fx.ResultTags(`group:"http_setup"`)))

// expectFailureLogged checks the one log line of the answer r: level ERROR,
// the status, method, route and request id (the X-Request-ID answered), and
// a cause containing cause; and that the body shows none of it.
func expectFailureLogged(t *testing.T, logs *logBuffer, r *apptest.Response, status int, method, route, cause string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	rid := r.Header.Get("X-Request-ID")
	if rid == "" {
		t.Fatalf("no X-Request-ID in the answer: %v", r.Header)
	}
	var body map[string]any
	r.JSON(t, &body)
	want := map[int]string{500: "Internal server error.", 503: "Service temporarily unavailable."}[status]
	if len(body) != 1 || body["detail"] != want {
		t.Errorf("body %s, want only the detail %q", r.Body, want)
	}
	lines := logs.linesOf(t, rid)
	if len(lines) != 1 {
		t.Fatalf("%d log lines carry request id %s, want 1: %v", len(lines), rid, lines)
	}
	l := lines[0]
	if l["level"] != "ERROR" || l["msg"] != "request" || l["status"] != float64(status) || l["method"] != method || l["route"] != route {
		t.Errorf("log line %v, want level ERROR, msg request, status %d, method %s, route %s", l, status, method, route)
	}
	msg, _ := l["error"].(string)
	if !strings.Contains(msg, cause) {
		t.Errorf("log line's error %q does not say %q", msg, cause)
	}
	if strings.Contains(string(r.Body), cause) {
		t.Errorf("the answer shows the cause %q: %s", cause, r.Body)
	}
	return l
}

// TestFiveHundredsLogTheirCause: a 500 from a store whose table is gone
// (the database's own error), a panic, a body huma cannot marshal, a
// middleware's error and a Fiber 5xx are each logged once, at level ERROR, with the cause, the route template, the
// method and the request id the client got; the client sees no internals.
func TestFiveHundredsLogTheirCause(t *testing.T) {
	logs := &logBuffer{}
	e := identitytest.New(t, fx.Options(failingRoutes, failingMiddleware, capturedLogs(logs)))
	acme := e.Account("Acme")
	ctx := context.Background()

	// The store of failed logins loses its table, through the database.
	if _, err := e.DB.ExecContext(ctx, "ALTER TABLE login_failures RENAME TO login_failures_gone"); err != nil {
		t.Fatal(err)
	}
	r := e.Post("", "/api/auth/login/", map[string]string{"email": acme.Owner.Email, "password": identitytest.Password})
	expectFailureLogged(t, logs, r, http.StatusInternalServerError, http.MethodPost, "/api/auth/login/", "login_failures")
	if _, err := e.DB.ExecContext(ctx, "ALTER TABLE login_failures_gone RENAME TO login_failures"); err != nil {
		t.Fatal(err)
	}

	r = e.Get("", "/api/test-panic/7/")
	l := expectFailureLogged(t, logs, r, http.StatusInternalServerError, http.MethodGet, "/api/test-panic/:id/", "panic: boom: secret-internal-detail")
	if stack, _ := l["stack"].(string); !strings.Contains(stack, "errorlog_test.go") {
		t.Errorf("the panic's line has no stack through the handler: %q", stack)
	}

	r = e.Get("", "/api/test-nan/")
	expectFailureLogged(t, logs, r, http.StatusInternalServerError, http.MethodGet, "/api/test-nan/", "error marshaling response")

	r = e.Get("", "/api/test-middleware")
	expectFailureLogged(t, logs, r, http.StatusInternalServerError, http.MethodGet, "/api/test-middleware", "middleware: secret-internal-detail")
	r = e.Get("", "/api/test-middleware?fiber=1")
	expectFailureLogged(t, logs, r, http.StatusInternalServerError, http.MethodGet, "/api/test-middleware", "upstream secret-internal-detail")

	// A success stays an info line, without an error.
	r = apptest.Expect(t, e.Get(acme.Owner.Token, "/api/auth/me/"), http.StatusOK)
	lines := logs.linesOf(t, r.Header.Get("X-Request-ID"))
	if len(lines) != 1 || lines[0]["level"] != "INFO" || lines[0]["error"] != nil {
		t.Errorf("log of a 200: %v, want one INFO line without an error", lines)
	}
}

// TestUnavailableLogsItsCause: a write that waits for a table another
// transaction holds locked past CRM_DB_TIMEOUT is a 503 (the database out of
// reach, for the client), logged at level ERROR with the database's cause.
func TestUnavailableLogsItsCause(t *testing.T) {
	logs := &logBuffer{}
	e := identitytest.New(t, capturedLogs(logs), func(c *config.Config) { c.DBTimeout = time.Second })
	acme := e.Account("Acme")
	ctx := context.Background()

	// The owner holds the write lock: on PostgreSQL a lock of the table
	// that lets reads through, on SQLite the database's one writer.
	tx, err := e.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if db.DialectOf(e.DB) == db.Postgres {
		_, err = tx.ExecContext(ctx, "LOCK TABLE employees IN EXCLUSIVE MODE")
	} else {
		_, err = tx.NewUpdate().Table("accounts").Set("name = name").Where("id = ?", acme.ID).Exec(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := e.Post(acme.Owner.Token, "/api/employees/", map[string]any{"name": "Jane", "email": "jane@acme.example.com", "password": identitytest.Password, "role": "employee"})
	expectFailureLogged(t, logs, r, http.StatusServiceUnavailable, http.MethodPost, "/api/employees/", "deadline exceeded")
}
