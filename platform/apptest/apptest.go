// Package apptest runs the real app for a test: a fresh database (SQLite, or
// PostgreSQL when CRM_TEST_POSTGRES_URL is set), every migration, the real
// policy, the real middleware, and requests through Fiber's app.Test.
package apptest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crm/platform/authz"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/dbtest"
	"crm/platform/httpx"
	"crm/policies"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// App is a running app under test.
type App struct {
	T      testing.TB
	Config config.Config
	Server *httpx.Server
	// DB is the database as its owner (db.Owner), for a test to write
	// fixtures and read what the API wrote, in every account.
	DB *bun.DB
	// AppDB is the API's own pool: on PostgreSQL, as the app role
	// (crm_app), under row-level security; else the same as DB.
	AppDB *bun.DB
	Authz *authz.Authorizer
	fx    *fx.App
	// base and client, when set (At), take the requests over HTTP instead
	// of into the in-process app.
	base   string
	client *http.Client
}

// Option changes the test configuration.
type Option func(*config.Config)

// WithPolicyDir serves the policy from a folder (see CopyPolicies).
func WithPolicyDir(dir string) Option { return func(c *config.Config) { c.PolicyDir = dir } }

// WithDatabaseURL uses a given database instead of a fresh one.
func WithDatabaseURL(u string) Option { return func(c *config.Config) { c.DatabaseURL = u } }

// TestConfig is the configuration tests run with: a fresh database, a fixed
// secret, a cheap password hash, and on PostgreSQL the app role crm_app, so
// every test runs under row-level security. It starts from the defaults, not
// from the process's environment.
func TestConfig(t testing.TB) config.Config {
	cfg := config.Defaults()
	cfg.DatabaseURL = dbtest.URL(t)
	cfg.JWTSecret = "test-secret-0123456789-0123456789-abcdef"
	cfg.JWTPreviousSecrets = nil
	cfg.PolicyDir = ""
	cfg.Argon2MemoryKiB = 1024
	cfg.Argon2Time = 1
	cfg.LogLevel = "error"
	cfg.AutoMigrate = true
	cfg.DBTimeout = 30 * time.Second
	cfg.HTTPAddr = "127.0.0.1:0"
	return cfg
}

// New starts the app with the given modules (and whatever else they need,
// e.g. fx.Populate targets).
func New(t testing.TB, modules fx.Option, opts ...Option) *App {
	t.Helper()
	cfg := TestConfig(t)
	for _, o := range opts {
		o(&cfg)
	}
	if u := cmp.Or(cfg.DBOwnerURL, cfg.DatabaseURL); cfg.DBListenURL == "" && strings.HasPrefix(u, "postgres") {
		// When the suite runs through a pooler, the listener still needs
		// the server itself, as in production (CRM_DB_LISTEN_URL).
		cfg.DBListenURL = dbtest.Direct(u)
	}
	a := &App{T: t, Config: cfg}
	var owner db.Owner
	a.fx = fx.New(
		fx.Supply(cfg, boot.Version("test")),
		boot.Module,
		// As `crm serve` builds it, less the HTTP listener: the signing
		// keys of the configuration and the modules' workers (run by Start).
		fx.Provide(boot.NewSigner),
		boot.Workers,
		modules,
		fx.NopLogger,
		fx.Populate(&a.Server, &a.AppDB, &owner, &a.Authz),
	)
	if err := a.fx.Err(); err != nil {
		t.Fatalf("apptest: %v", err)
	}
	a.DB = owner.DB
	t.Cleanup(func() {
		_ = a.AppDB.Close()
		_ = a.DB.Close()
	})
	// Every statement the test runs, the API's and the test's own, ties the
	// tenant tables it joins by account_id (docs/operations.md, Citus).
	tenant, err := dbtest.TenantTables(context.Background(), a.DB)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	dbtest.CheckJoins(t, tenant, a.DB, a.AppDB)
	return a
}

// Start runs the app's start hooks (the HTTP listener, background workers
// such as the principal cache's listener), as `crm serve` does, and stops
// them when the test ends.
func (a *App) Start() {
	a.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.fx.Start(ctx); err != nil {
		a.T.Fatalf("apptest: start: %v", err)
	}
	a.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.fx.Stop(ctx)
	})
}

// At returns a twin of a for test t whose requests go over HTTP to base
// (a `crm serve` process on a's database, or a load balancer in front of
// several) instead of into the in-process app. Everything else is a's: the
// database, the services, the route list.
func (a *App) At(t testing.TB, base string, client *http.Client) *App {
	twin := *a
	twin.T, twin.base, twin.client = t, strings.TrimRight(base, "/"), client
	return &twin
}

// CopyPolicies copies the embedded policy files into a new temporary folder
// and returns it, for tests that edit a policy while the server runs.
func CopyPolicies(t testing.TB) string {
	dir := t.TempDir()
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Response is what a request got back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as an object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

func (r *Response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// Request is a request to send; Body may be nil, a string (sent as is) or
// anything else (sent as JSON).
type Request struct {
	Method  string
	Path    string
	Token   string
	Body    any
	Headers map[string]string
}

// Do sends a request through the real app (or to the base of At).
func (a *App) Do(r Request) *Response {
	a.T.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.T.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	var req *http.Request
	if a.base == "" {
		req = httptest.NewRequest(r.Method, r.Path, body)
	} else {
		var err error
		if req, err = http.NewRequest(r.Method, a.base+r.Path, body); err != nil {
			a.T.Fatalf("%s %s: %v", r.Method, r.Path, err)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	var resp *http.Response
	var err error
	if a.base == "" {
		resp, err = a.Server.App.Test(req, -1)
	} else {
		resp, err = a.client.Do(req)
	}
	if err != nil {
		a.T.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Get, Post, Patch, Put and Delete are shorthands for Do.
func (a *App) Get(token, path string) *Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodGet, Path: path, Token: token})
}

func (a *App) Post(token, path string, body any) *Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

func (a *App) Patch(token, path string, body any) *Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodPatch, Path: path, Token: token, Body: body})
}

func (a *App) Put(token, path string, body any) *Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodPut, Path: path, Token: token, Body: body})
}

func (a *App) Delete(token, path string) *Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodDelete, Path: path, Token: token})
}

// Expect fails the test unless r has the status.
func Expect(t testing.TB, r *Response, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	return r
}

// EscapeQuery makes a fuzzed query string fit a request line: bytes that
// cannot appear there are percent-encoded, everything else (%, &, =, +)
// stays as the fuzzer wrote it, so "%00" or "%ff" reach the server decoded.
func EscapeQuery(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("#\"<>\\^`{|}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
