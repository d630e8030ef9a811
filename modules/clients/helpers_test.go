package clients_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"

	"go.uber.org/fx"
)

// newEnv starts the real app with accounts, identity and clients.
func newEnv(t *testing.T, extra fx.Option, opts ...apptest.Option) *identitytest.Env {
	t.Helper()
	if extra == nil {
		extra = fx.Options()
	}
	return identitytest.New(t, fx.Options(clients.Module, extra), opts...)
}

var seq atomic.Int64

// body is a valid client body with a unique email; kv overrides fields
// (a nil value sends null).
func body(kv ...any) map[string]any {
	n := seq.Add(1)
	b := map[string]any{
		"first_name": "John",
		"last_name":  fmt.Sprintf("Doe%d", n),
		"email":      fmt.Sprintf("john.doe.%d@example.com", n),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

// clientJSON is a client as the API sends it.
type clientJSON struct {
	ID        int64   `json:"id"`
	Account   int64   `json:"account"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Email     string  `json:"email"`
	Phone     string  `json:"phone"`
	Status    string  `json:"status"`
	Coach     *int64  `json:"coach"`
	Closer    *int64  `json:"closer"`
	Setter    *int64  `json:"setter"`
	Country   *string `json:"country"`
	Currency  *string `json:"currency"`
	Notes     string  `json:"notes"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

type pageJSON struct {
	Count    int          `json:"count"`
	Next     *string      `json:"next"`
	Previous *string      `json:"previous"`
	Results  []clientJSON `json:"results"`
}

type statsJSON struct {
	Total      int `json:"total"`
	Active     int `json:"active"`
	Inactive   int `json:"inactive"`
	Onboarding int `json:"onboarding"`
	Paused     int `json:"paused"`
	Cancelled  int `json:"cancelled"`
}

// create makes a client through the API and returns it.
func create(t *testing.T, e *identitytest.Env, token string, b map[string]any) clientJSON {
	t.Helper()
	var c clientJSON
	apptest.Expect(t, e.Post(token, "/api/clients/", b), http.StatusCreated).JSON(t, &c)
	return c
}

func list(t *testing.T, e *identitytest.Env, token, path string) pageJSON {
	t.Helper()
	var p pageJSON
	apptest.Expect(t, e.Get(token, path), http.StatusOK).JSON(t, &p)
	return p
}

func stats(t *testing.T, e *identitytest.Env, token, path string) statsJSON {
	t.Helper()
	var s statsJSON
	apptest.Expect(t, e.Get(token, path), http.StatusOK).JSON(t, &s)
	return s
}

func ids(p pageJSON) map[int64]bool {
	m := map[int64]bool{}
	for _, c := range p.Results {
		m[c.ID] = true
	}
	return m
}

func clientPath(id int64) string { return fmt.Sprintf("/api/clients/%d/", id) }

func itoa(n int64) string { return fmt.Sprint(n) }
