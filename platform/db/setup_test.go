package db_test

import (
	"context"
	"testing"

	"crm/platform/db"
	"crm/platform/dbtest"
)

// Every connection of a PostgreSQL pool takes its role and the planner's
// random_page_cost as opened; "server" keeps the server's, and a value that
// is not a number is refused before anything is sent.
func TestSessionSetup(t *testing.T) {
	if dbtest.PostgresURL() == "" {
		t.Skip("PostgreSQL's session settings")
	}
	url := dbtest.URL(t)
	show := func(opts db.Options) (cost, role string) {
		t.Helper()
		d, err := db.Open(url, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.QueryRowContext(context.Background(), "SELECT current_setting('random_page_cost'), current_user").Scan(&cost, &role); err != nil {
			t.Fatal(err)
		}
		return cost, role
	}
	if cost, _ := show(db.Options{RandomPageCost: "1.1"}); cost != "1.1" {
		t.Errorf("random_page_cost %q, want 1.1", cost)
	}
	server, _ := show(db.Options{})
	if cost, _ := show(db.Options{RandomPageCost: "server"}); cost != server || cost == "1.1" {
		t.Errorf("server's random_page_cost %q, want %q", cost, server)
	}
	if cost, role := show(db.Options{RandomPageCost: "2", Role: "pg_monitor"}); cost != "2" || role != "pg_monitor" {
		t.Errorf("role and cost together: %q, %q", role, cost)
	}
	for _, bad := range []string{"abc", "-1", "0", "1; DROP TABLE x"} {
		if _, err := db.Open(url, db.Options{RandomPageCost: bad}); err == nil {
			t.Errorf("random_page_cost %q accepted", bad)
		}
	}
}
