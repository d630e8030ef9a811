package clients_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"crm/modules/identity/identitytest"
	"crm/platform/apptest"
	"crm/platform/db"
)

// countKey is one counter: the clients of an account (employee 0) or of one
// employee's assignment, with a status.
type countKey struct {
	account, employee int64
	status            string
}

// recount counts the clients rows of every account as the counters should:
// per account and status, and per assigned employee (coach, closer or
// setter, once per client) and status.
func recount(t *testing.T, e *identitytest.Env) map[countKey]int {
	t.Helper()
	var rows []struct {
		AccountID int64
		CoachID   *int64
		CloserID  *int64
		SetterID  *int64
		Status    string
	}
	if err := e.DB.NewSelect().Table("clients").Column("account_id", "coach_id", "closer_id", "setter_id", "status").Scan(t.Context(), &rows); err != nil {
		t.Fatal(err)
	}
	want := map[countKey]int{}
	for _, r := range rows {
		want[countKey{r.AccountID, 0, r.Status}]++
		seen := map[int64]bool{}
		for _, id := range []*int64{r.CoachID, r.CloserID, r.SetterID} {
			if id != nil && !seen[*id] {
				seen[*id] = true
				want[countKey{r.AccountID, *id, r.Status}]++
			}
		}
	}
	return want
}

// counters reads client_counts, leaving out the counters at zero; a
// negative count fails the test.
func counters(t *testing.T, e *identitytest.Env) map[countKey]int {
	t.Helper()
	var rows []struct {
		AccountID  int64
		EmployeeID int64
		Status     string
		N          int
	}
	if err := e.DB.NewSelect().Table("client_counts").Column("account_id", "employee_id", "status", "n").Scan(t.Context(), &rows); err != nil {
		t.Fatal(err)
	}
	// A counter is the sum of its slot rows (PostgreSQL); one slot alone may
	// be negative, a sum may not.
	got := map[countKey]int{}
	for _, r := range rows {
		got[countKey{r.AccountID, r.EmployeeID, r.Status}] += r.N
	}
	for k, n := range got {
		if n < 0 {
			t.Fatalf("negative counter %+v = %d", k, n)
		}
		if n == 0 {
			delete(got, k)
		}
	}
	return got
}

// checkCounters fails unless the counters equal a recount of the rows, and
// the API's unfiltered statistics and counts equal the recount for the
// account's owner and for each employee.
func checkCounters(t *testing.T, e *identitytest.Env, a *identitytest.Tenant, emps ...identitytest.User) {
	t.Helper()
	want, got := recount(t, e), counters(t, e)
	if len(want) != len(got) {
		t.Fatalf("counters %v, recount %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("counter %+v = %d, recount %d", k, got[k], n)
		}
	}
	expect := func(employee int64) statsJSON {
		s := statsJSON{Active: want[countKey{a.ID, employee, "active"}], Inactive: want[countKey{a.ID, employee, "inactive"}],
			Onboarding: want[countKey{a.ID, employee, "onboarding"}], Paused: want[countKey{a.ID, employee, "paused"}],
			Cancelled: want[countKey{a.ID, employee, "cancelled"}]}
		s.Total = s.Active + s.Inactive + s.Onboarding + s.Paused + s.Cancelled
		return s
	}
	if s, w := stats(t, e, a.Owner.Token, "/api/clients/statistics/"), expect(0); s != w {
		t.Fatalf("owner statistics %+v, recount %+v", s, w)
	}
	if p, w := list(t, e, a.Owner.Token, "/api/clients/"), expect(0); p.Count != w.Total {
		t.Fatalf("owner list count %d, recount %d", p.Count, w.Total)
	}
	if p, w := list(t, e, a.Owner.Token, "/api/clients/?status=paused"), expect(0); p.Count != w.Paused {
		t.Fatalf("owner paused count %d, recount %d", p.Count, w.Paused)
	}
	if p, w := list(t, e, a.Owner.Token, "/api/clients/my_clients/"), expect(a.Owner.ID); p.Count != w.Total {
		t.Fatalf("owner my_clients count %d, recount %d", p.Count, w.Total)
	}
	for _, u := range emps {
		w := expect(u.ID)
		if s := stats(t, e, u.Token, "/api/clients/statistics/"); s != w {
			t.Fatalf("%s statistics %+v, recount %+v", u.Email, s, w)
		}
		if s := stats(t, e, u.Token, "/api/clients/statistics/?status=active"); s != (statsJSON{Total: w.Active, Active: w.Active}) {
			t.Fatalf("%s active statistics %+v, recount %+v", u.Email, s, w)
		}
		for _, path := range []string{"/api/clients/", "/api/clients/my_clients/"} {
			p := list(t, e, u.Token, path+"?page_size=200")
			if p.Count != w.Total || len(p.Results) != min(w.Total, 200) {
				t.Fatalf("%s %s: count %d, %d results, recount %d", u.Email, path, p.Count, len(p.Results), w.Total)
			}
		}
	}
}

// TestCountersFollowEveryWrite: after creates, updates of status and
// assignment (PATCH and PUT), unrelated updates and deletes, in two
// accounts, the counters equal a recount of the rows, and the statistics and
// counts the API answers equal it for the owner and each employee.
func TestCountersFollowEveryWrite(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Counters")
	other := e.Account("Counters Other")
	x, y, z := a.Employee("employee"), a.Employee("employee"), a.Employee("employee")
	ox := other.Employee("employee")
	tok := a.Owner.Token
	checkCounters(t, e, a, x, y, z)

	statuses := []string{"active", "inactive", "onboarding", "paused", "cancelled"}
	var made []clientJSON
	for i := range 30 {
		b := body("status", statuses[i%5])
		switch i % 6 {
		case 0:
			b["coach"] = x.ID
		case 1:
			b["coach"], b["closer"] = x.ID, x.ID // two roles: counted once
		case 2:
			b["coach"], b["closer"], b["setter"] = x.ID, y.ID, z.ID
		case 3:
			b["setter"], b["closer"], b["coach"] = y.ID, y.ID, y.ID
		case 4:
			b["closer"] = z.ID
		}
		made = append(made, create(t, e, tok, b))
		create(t, e, other.Owner.Token, body("status", statuses[i%3], "coach", ox.ID))
	}
	checkCounters(t, e, a, x, y, z)

	for i, c := range made {
		path := clientPath(c.ID)
		switch i % 7 {
		case 0: // status
			apptest.Expect(t, e.Patch(tok, path, map[string]any{"status": statuses[(i+2)%5]}), http.StatusOK)
		case 1: // assignment
			apptest.Expect(t, e.Patch(tok, path, map[string]any{"coach": y.ID, "setter": nil}), http.StatusOK)
		case 2: // status and assignment
			apptest.Expect(t, e.Patch(tok, path, map[string]any{"status": "paused", "closer": x.ID, "coach": x.ID}), http.StatusOK)
		case 3: // nothing the counters hold
			apptest.Expect(t, e.Patch(tok, path, map[string]any{"notes": "called", "country": "FR"}), http.StatusOK)
		case 4: // replace: unassigned, active
			apptest.Expect(t, e.Put(tok, path, body()), http.StatusOK)
		case 5:
			apptest.Expect(t, e.Delete(tok, path), http.StatusNoContent)
		case 6: // every field
			apptest.Expect(t, e.Put(tok, path, body("status", "cancelled", "coach", z.ID, "closer", z.ID, "setter", x.ID)), http.StatusOK)
		}
	}
	checkCounters(t, e, a, x, y, z)
	// A refused write changes nothing.
	apptest.Expect(t, e.Patch(tok, clientPath(made[0].ID), map[string]any{"status": "gone"}), http.StatusBadRequest)
	apptest.Expect(t, e.Patch(tok, clientPath(made[0].ID), map[string]any{"coach": 987654}), http.StatusBadRequest)
	checkCounters(t, e, a, x, y, z)
}

// TestCountersUnderConcurrentWrites: many requests at once creating,
// changing and deleting clients of one account leave counters equal to a
// recount.
func TestCountersUnderConcurrentWrites(t *testing.T) {
	e := newEnv(t, nil)
	a := e.Account("Concurrent")
	x, y := a.Employee("employee"), a.Employee("employee")
	tok := a.Owner.Token
	statuses := []string{"active", "inactive", "onboarding", "paused", "cancelled"}

	const workers, rounds = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				b := body("status", statuses[(w+r)%5], "coach", x.ID, "closer", []int64{x.ID, y.ID}[r%2])
				res := e.Post(tok, "/api/clients/", b)
				if res.Status != http.StatusCreated {
					errs <- fmt.Errorf("create: %d %s", res.Status, res.Body)
					continue
				}
				var c clientJSON
				if err := json.Unmarshal(res.Body, &c); err != nil {
					errs <- err
					continue
				}
				path := clientPath(c.ID)
				for _, change := range []map[string]any{
					{"status": statuses[(w+r+1)%5]},
					{"coach": y.ID, "setter": x.ID},
					{"status": statuses[(w+r+3)%5], "closer": nil},
				} {
					if res := e.Patch(tok, path, change); res.Status != http.StatusOK {
						errs <- fmt.Errorf("patch %v: %d %s", change, res.Status, res.Body)
					}
				}
				if (w+r)%3 == 0 {
					if res := e.Delete(tok, path); res.Status != http.StatusNoContent {
						errs <- fmt.Errorf("delete: %d %s", res.Status, res.Body)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	checkCounters(t, e, a, x, y)
	if s := stats(t, e, tok, "/api/clients/statistics/"); s.Total != workers*rounds-workers*rounds/3 {
		t.Fatalf("statistics %+v after %d creates and %d deletes", s, workers*rounds, workers*rounds/3)
	}
	if db.DialectOf(e.DB) == db.Postgres {
		// The writers ran on several connections of the pool, so the
		// account's counters are spread over several slots.
		var slots int
		if err := e.DB.QueryRowContext(t.Context(), "SELECT count(DISTINCT slot) FROM client_counts WHERE account_id = ? AND employee_id = 0", a.ID).Scan(&slots); err != nil {
			t.Fatal(err)
		}
		if slots < 2 {
			t.Fatalf("the counters of %d concurrent writers are in %d slot", workers, slots)
		}
	}
}
