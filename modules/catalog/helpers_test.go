package catalog_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"

	"go.uber.org/fx"
)

// newEnv starts the app with clients and catalog, bound as cmd/crm binds them.
func newEnv(t *testing.T) *identitytest.Env {
	t.Helper()
	return identitytest.New(t, fx.Options(
		clients.Module,
		catalog.Module,
		fx.Provide(func(s *clients.Service) catalog.ClientAccess { return s }),
	))
}

var seq atomic.Int64

// client creates a client through the API (as token) and returns its id;
// coach, when not zero, is assigned as its coach.
func client(t *testing.T, e *identitytest.Env, token string, coach int64) int64 {
	t.Helper()
	n := seq.Add(1)
	body := map[string]any{"first_name": "Client", "last_name": fmt.Sprint(n), "email": fmt.Sprintf("client%d@example.com", n)}
	if coach != 0 {
		body["coach"] = coach
	}
	return id(t, apptest.Expect(t, e.Post(token, "/api/clients/", body), http.StatusCreated))
}

func id(t *testing.T, r *apptest.Response) int64 {
	t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &out)
	if out.ID == 0 {
		t.Fatalf("no id in %s", r.Body)
	}
	return out.ID
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
