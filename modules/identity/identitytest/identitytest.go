// Package identitytest starts the real app with the accounts and identity
// modules (plus the modules a test adds) and makes accounts and employees
// through the same paths the CLI and the API use.
package identitytest

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"crm/cmd/crm/bindings"
	"crm/modules/accounts"
	"crm/modules/identity"
	"crm/platform/apptest"

	"go.uber.org/fx"
)

// Password is the password of every employee the fixtures create.
const Password = "correct-horse-battery"

// Env is the app under test with its fixtures.
type Env struct {
	*apptest.App
	Accounts *accounts.Service
	Identity *identity.Service
}

// Base is the accounts and identity modules, and the bindings between
// modules as cmd/crm binds them (for whichever modules a test adds).
func Base() fx.Option {
	return fx.Options(accounts.Module, identity.Module, bindings.All)
}

// New starts the app with accounts, identity and the extra modules.
func New(t testing.TB, extra fx.Option, opts ...apptest.Option) *Env {
	t.Helper()
	e := &Env{}
	if extra == nil {
		extra = fx.Options()
	}
	e.App = apptest.New(t, fx.Options(Base(), extra, fx.Populate(&e.Accounts, &e.Identity)), opts...)
	return e
}

// User is an employee the test can act as.
type User struct {
	ID    int64
	Email string
	Role  string
	Token string
}

// Tenant is an account with its super_admin.
type Tenant struct {
	ID    int64
	Name  string
	Owner User
	env   *Env
}

var seq atomic.Int64

// Account creates an account and its super_admin as the CLI does, and signs
// the super_admin in.
func (e *Env) Account(name string) *Tenant {
	e.T.Helper()
	n := seq.Add(1)
	email := fmt.Sprintf("owner%d@%s.example.com", n, sanitize(name))
	acc, owner, err := e.Accounts.CreateWithOwner(context.Background(), name, email, Password)
	if err != nil {
		e.T.Fatalf("create account: %v", err)
	}
	t := &Tenant{ID: acc.ID, Name: acc.Name, env: e, Owner: User{ID: owner, Email: email, Role: "super_admin"}}
	t.Owner.Token = e.Login(email, Password)
	return t
}

func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			out = append(out, r)
		} else if r >= 'A' && r <= 'Z' {
			out = append(out, r+32)
		}
	}
	if len(out) == 0 {
		return "acct"
	}
	return string(out)
}

// Login signs in and returns the token, failing the test on refusal.
func (e *Env) Login(email, password string) string {
	e.T.Helper()
	r := apptest.Expect(e.T, e.Post("", "/api/auth/login/", map[string]string{"email": email, "password": password}), http.StatusOK)
	var out struct {
		Token string `json:"token"`
	}
	r.JSON(e.T, &out)
	return out.Token
}

// Employee creates an employee of the tenant through the API (as its
// super_admin), grants the permissions and signs them in.
func (t *Tenant) Employee(role string, permissions ...string) User {
	e := t.env
	e.T.Helper()
	n := seq.Add(1)
	email := fmt.Sprintf("%s%d@%s.example.com", role, n, sanitize(t.Name))
	body := map[string]any{"name": fmt.Sprintf("%s %d", role, n), "email": email, "password": Password, "role": role}
	if len(permissions) > 0 {
		body["permissions"] = permissions
	}
	r := apptest.Expect(e.T, e.Post(t.Owner.Token, "/api/employees/", body), http.StatusCreated)
	var out struct {
		ID int64 `json:"id"`
	}
	r.JSON(e.T, &out)
	return User{ID: out.ID, Email: email, Role: role, Token: e.Login(email, Password)}
}
