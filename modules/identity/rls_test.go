package identity_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"crm/modules/audit"
	"crm/modules/clients"
	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/dbtest"
	"crm/platform/httpx"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// probeInput is one SQL statement the probe route runs as is, in the
// request's transaction: deliberately without any account filter.
type probeInput struct {
	Body struct {
		SQL   string `json:"sql"`
		Query bool   `json:"query" doc:"Scan the ids the statement returns."`
	}
}

type probeOutput struct {
	Body struct {
		IDs  []int64 `json:"ids"`
		Rows int64   `json:"rows"`
		Code string  `json:"code" doc:"The PostgreSQL error code, when the statement failed."`
	}
}

// probeRoutes is a test-only route on the real request path (token, session
// lookup, policy check, the request's transaction with its account): it runs
// the statement it is given through the API's own pool, as a store would
// (db.Use), and answers what it saw or touched, or the error code (the
// statement runs under a savepoint, so a refused one leaves the request
// usable).
func probeRoutes(d *bun.DB) []httpx.Route {
	op := httpx.Action(http.MethodPost, "/test/rls/", "rlsProbe", "Test only: run a statement unscoped", "Test")
	return []httpx.Route{httpx.Handle(op, "clients", "update", func(ctx context.Context, in *probeInput) (*probeOutput, error) {
		idb := db.Use(ctx, d)
		if _, err := idb.ExecContext(ctx, "SAVEPOINT rls_probe"); err != nil {
			return nil, err
		}
		out := &probeOutput{}
		var err error
		if in.Body.Query {
			err = idb.NewRaw(in.Body.SQL).Scan(ctx, &out.Body.IDs)
		} else {
			var res interface{ RowsAffected() (int64, error) }
			if res, err = idb.ExecContext(ctx, in.Body.SQL); err == nil {
				out.Body.Rows, _ = res.RowsAffected()
			}
		}
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				return nil, err
			}
			out.Body.Code = pgErr.Code
			if _, err := idb.ExecContext(ctx, "ROLLBACK TO SAVEPOINT rls_probe"); err != nil {
				return nil, err
			}
		}
		return out, nil
	})}
}

// TestRowLevelSecurity proves the second tenancy guard: through the real
// request path, statements with no account filter at all see and change
// only the caller's rows, and the API's role can neither write another
// account's rows nor switch the guard off.
func TestRowLevelSecurity(t *testing.T) {
	e := newRLSEnv(t)
	ctx := context.Background()
	acme, globex := e.Account("Acme"), e.Account("Globex")
	acmeIDs, globexIDs := newClients(t, e, acme, 3), newClients(t, e, globex, 2)
	probe := func(tn *identitytest.Tenant, sql string, query bool) probeOutput {
		t.Helper()
		return runProbe(t, e, tn, sql, query)
	}
	refused := func(tn *identitytest.Tenant, sql, code string) {
		t.Helper()
		if got := probe(tn, sql, false); got.Body.Code != code {
			t.Errorf("%s: code %q (%d rows), want %s", sql, got.Body.Code, got.Body.Rows, code)
		}
	}
	// ownerCount counts rows as the table owner, who sees every account.
	ownerCount := func(where string) int64 {
		t.Helper()
		n, err := e.DB.NewSelect().Table("clients").Where(where).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Reads: each account sees its own clients and nothing else.
	for _, c := range []struct {
		tn   *identitytest.Tenant
		want []int64
	}{{acme, acmeIDs}, {globex, globexIDs}} {
		got := probe(c.tn, "SELECT id FROM clients ORDER BY id", true).Body.IDs
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: unscoped SELECT saw %v, want its own %v", c.tn.Name, got, c.want)
		}
	}
	if got := probe(acme, "SELECT id FROM accounts", true).Body.IDs; !slices.Equal(got, []int64{acme.ID}) {
		t.Errorf("unscoped SELECT on accounts saw %v, want [%d]", got, acme.ID)
	}
	if got := probe(acme, "SELECT DISTINCT account_id FROM employees", true).Body.IDs; !slices.Equal(got, []int64{acme.ID}) {
		t.Errorf("unscoped SELECT on employees saw accounts %v, want [%d]", got, acme.ID)
	}

	// Writes: an unscoped UPDATE touches the caller's rows only.
	if got := probe(acme, "UPDATE clients SET notes = 'rls probe'", false); got.Body.Code != "" || got.Body.Rows != 3 {
		t.Fatalf("unscoped UPDATE: %+v, want 3 rows", got.Body)
	}
	if n := ownerCount("notes = 'rls probe'"); n != 3 {
		t.Fatalf("%d clients carry the probe's notes, want Acme's 3", n)
	}
	if n := ownerCount(fmt.Sprintf("account_id = %d AND notes = ''", globex.ID)); n != 2 {
		t.Fatalf("Globex: %d untouched clients, want 2", n)
	}

	// Another account's id, written or moved to, fails WITH CHECK; a row of
	// no account too.
	refused(acme, fmt.Sprintf("INSERT INTO clients (account_id, first_name, last_name, email) VALUES (%d, 'Evil', 'Twin', 'evil@example.com')", globex.ID), "42501")
	refused(acme, "INSERT INTO audit_events (account_id, action, object_type, at) VALUES (NULL, 'forged', 'client', now())", "42501")
	refused(acme, fmt.Sprintf("UPDATE clients SET account_id = %d", globex.ID), "42501")
	// Another account's row is not there to update.
	if got := probe(acme, fmt.Sprintf("UPDATE accounts SET name = 'Taken' WHERE id = %d", globex.ID), false); got.Body.Code != "" || got.Body.Rows != 0 {
		t.Errorf("UPDATE of another account: %+v, want 0 rows", got.Body)
	}
	if n, err := e.DB.NewSelect().Table("accounts").Where("name = 'Taken'").Count(ctx); err != nil || n != 0 {
		t.Fatalf("another account renamed (%d, %v)", n, err)
	}

	// The guard cannot be switched off or removed by the API's role: it is
	// not the owner, not a superuser, and does not bypass row-level security.
	// (SET ROLE back to the owner is refused only when the pool logs in as
	// a role other than the owner: TestRowLevelSecurityLoginRole.)
	for _, sql := range []string{
		"SET LOCAL row_security = off; SELECT id FROM clients",
		"ALTER TABLE clients DISABLE ROW LEVEL SECURITY",
		"ALTER TABLE clients NO FORCE ROW LEVEL SECURITY",
		"DROP POLICY tenant_isolation ON clients",
		"CREATE POLICY open_door ON clients USING (true)",
		"DROP TABLE clients",
		"TRUNCATE clients",
		"SELECT crm_enable_rls()",
		"UPDATE audit_events SET action = 'forged'",
		"DELETE FROM audit_events",
		"SELECT count(*) FROM login_failures",
		"SELECT count(*) FROM audit_events_no_account",
		"SELECT crm_key_by_account('clients')",
	} {
		refused(acme, sql, "42501")
	}
	var role struct {
		User      string `bun:"current_user"`
		Super     bool   `bun:"rolsuper"`
		Bypass    bool   `bun:"rolbypassrls"`
		OwnsTable bool   `bun:"owns_table"`
	}
	if err := e.AppDB.NewRaw(`SELECT current_user, r.rolsuper, r.rolbypassrls,
		EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user) AS owns_table
		FROM pg_roles AS r WHERE r.rolname = current_user`).Scan(ctx, &role); err != nil {
		t.Fatal(err)
	}
	if role.User != "crm_app" || role.Super || role.Bypass || role.OwnsTable {
		t.Fatalf("the API's pool runs as %+v, want crm_app: no superuser, no BYPASSRLS, owning no table", role)
	}
	// Outside a request no account is set: nothing is visible (fail closed).
	if n, err := e.AppDB.NewSelect().Table("clients").Count(ctx); err != nil || n != 0 {
		t.Fatalf("the API's pool with no account set sees %d clients (%v), want 0", n, err)
	}

	// An unscoped DELETE removes the caller's rows only.
	if got := probe(acme, "DELETE FROM clients", false); got.Body.Code != "" || got.Body.Rows != 3 {
		t.Fatalf("unscoped DELETE: %+v, want 3 rows", got.Body)
	}
	if n := ownerCount("true"); n != 2 {
		t.Fatalf("%d clients left, want Globex's 2", n)
	}
	if got := probe(globex, "SELECT id FROM clients ORDER BY id", true).Body.IDs; !slices.Equal(got, globexIDs) {
		t.Fatalf("Globex sees %v after Acme's DELETE, want %v", got, globexIDs)
	}
}

// TestRowLevelSecurityLoginRole runs the API as production should: its pool
// logs in as a role of its own, a member of crm_app that owns nothing
// (CRM_DATABASE_URL), while the owner's pool has its own URL
// (CRM_DB_OWNER_URL). Then not even a statement that resets the role or
// asks for the owner's gets out: the login role answers to the same policy.
func TestRowLevelSecurityLoginRole(t *testing.T) {
	base := dbtest.PostgresURL()
	if base == "" {
		t.Skip("row-level security is PostgreSQL's (set CRM_TEST_POSTGRES_URL)")
	}
	const login = "crm_rls_test_login"
	admin, err := db.Open(base, db.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Roles belong to the cluster: dropped once the test's database is.
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP ROLE IF EXISTS "+login)
		_ = admin.Close()
	})
	ownerURL := dbtest.URL(t)
	// A first start migrates (crm_app exists from then on).
	first := identitytest.New(t, nil, apptest.WithDatabaseURL(ownerURL))
	_ = first.AppDB.Close()
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `DO $$ BEGIN
		CREATE ROLE `+login+` LOGIN NOBYPASSRLS;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "GRANT crm_app TO "+login); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(login)
	e := newRLSEnv(t, func(c *config.Config) { c.DatabaseURL, c.DBOwnerURL = u.String(), ownerURL })

	acme, globex := e.Account("Acme"), e.Account("Globex")
	acmeIDs, globexIDs := newClients(t, e, acme, 2), newClients(t, e, globex, 3)
	if got := runProbe(t, e, acme, "SELECT id FROM clients ORDER BY id", true).Body.IDs; !slices.Equal(got, acmeIDs) {
		t.Fatalf("unscoped SELECT saw %v, want %v", got, acmeIDs)
	}
	var owner string
	if err := e.DB.NewRaw("SELECT current_user").Scan(ctx, &owner); err != nil {
		t.Fatal(err)
	}
	if got := runProbe(t, e, acme, "SET ROLE "+owner, false); got.Body.Code != "42501" {
		t.Fatalf("SET ROLE %s: %+v, want 42501", owner, got.Body)
	}
	if got := runProbe(t, e, acme, "RESET ROLE; DELETE FROM clients", false); got.Body.Code != "" || got.Body.Rows != 2 {
		t.Fatalf("RESET ROLE then an unscoped DELETE: %+v, want Acme's 2 rows", got.Body)
	}
	if got := runProbe(t, e, globex, "SELECT id FROM clients ORDER BY id", true).Body.IDs; !slices.Equal(got, globexIDs) {
		t.Fatalf("Globex sees %v, want %v", got, globexIDs)
	}
}

// newRLSEnv starts the app with clients, the audit log and the probe route,
// on PostgreSQL only.
func newRLSEnv(t *testing.T, opts ...apptest.Option) *identitytest.Env {
	t.Helper()
	if dbtest.PostgresURL() == "" {
		t.Skip("row-level security is PostgreSQL's; on SQLite tenant.Scope is the guard (set CRM_TEST_POSTGRES_URL)")
	}
	return identitytest.New(t, fx.Options(clients.Module, audit.Module, httpx.AsRoutes(probeRoutes)), opts...)
}

// newClients creates n clients in the account through the API.
func newClients(t *testing.T, e *identitytest.Env, tn *identitytest.Tenant, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		r := apptest.Expect(t, e.Post(tn.Owner.Token, "/api/clients/", map[string]any{
			"first_name": "Rls", "last_name": fmt.Sprintf("Probe%d", i), "email": fmt.Sprintf("rls%d.%d@example.com", tn.ID, i)}), http.StatusCreated)
		ids = append(ids, int64(r.Map(t)["id"].(float64)))
	}
	return ids
}

// runProbe runs sql through the probe route as the account's super_admin.
func runProbe(t *testing.T, e *identitytest.Env, tn *identitytest.Tenant, sql string, query bool) probeOutput {
	t.Helper()
	var out probeOutput
	apptest.Expect(t, e.Post(tn.Owner.Token, "/test/rls/", map[string]any{"sql": sql, "query": query}), http.StatusOK).JSON(t, &out.Body)
	return out
}
