package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/modules/accounts"
	"crm/modules/identity/identitytest"
	"crm/modules/webhooks"
	"crm/platform/apptest"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/httpx"
	"crm/platform/journal"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

func TestEndpointCRUDAndSecretShownOnce(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)

	created := register(t, e, acme.Owner.Token, r, "employee.created", "client.created", "employee.created")
	secret := created["secret"].(string)
	if created["enabled"] != true || fmt.Sprint(created["event_types"]) != "[client.created employee.created]" {
		t.Fatalf("created = %v", created)
	}
	path := "/api/webhook-endpoints/" + id(created) + "/"

	// Never again: retrieve, list, update.
	for _, resp := range []*apptest.Response{
		apptest.Expect(t, e.Get(acme.Owner.Token, path), http.StatusOK),
		apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"), http.StatusOK),
		apptest.Expect(t, e.Patch(acme.Owner.Token, path, map[string]any{"enabled": false, "description": "Slack"}), http.StatusOK),
		apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints"), http.StatusOK),
	} {
		if strings.Contains(string(resp.Body), secret) || strings.Contains(string(resp.Body), `"secret"`) {
			t.Fatalf("secret shown again: %s", resp.Body)
		}
	}
	got := apptest.Expect(t, e.Get(acme.Owner.Token, path), http.StatusOK).Map(t)
	if got["enabled"] != false || got["description"] != "Slack" || got["url"] != r.URL+"/hook" {
		t.Fatalf("after update = %v", got)
	}
	list := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"), http.StatusOK).Map(t)
	if list["count"].(float64) != 1 {
		t.Fatalf("list = %v", list)
	}

	// Validation: every failing field, nothing written.
	bad := apptest.Expect(t, e.Post(acme.Owner.Token, "/api/webhook-endpoints/", map[string]any{"url": "ftp://x.example.com/", "event_types": []string{"client.exploded"}}), http.StatusBadRequest).Map(t)
	errsByField, _ := bad["errors"].(map[string]any)
	if bad["detail"] == nil || errsByField["url"] == nil || errsByField["event_types"] == nil {
		t.Fatalf("bad create = %v", bad)
	}
	apptest.Expect(t, e.Post(acme.Owner.Token, "/api/webhook-endpoints/", map[string]any{"url": r.URL}), http.StatusBadRequest)
	apptest.Expect(t, e.Post(acme.Owner.Token, "/api/webhook-endpoints/", map[string]any{"url": r.URL, "event_types": []string{}}), http.StatusBadRequest)
	apptest.Expect(t, e.Post(acme.Owner.Token, "/api/webhook-endpoints/", map[string]any{"url": 12, "event_types": []string{"*"}}), http.StatusBadRequest)
	apptest.Expect(t, e.Patch(acme.Owner.Token, path, map[string]any{"event_types": []string{"nope"}}), http.StatusBadRequest)
	apptest.Expect(t, e.Post(acme.Owner.Token, "/api/webhook-endpoints/", map[string]any{"url": r.URL, "event_types": []string{"*", "client.created"}}), http.StatusCreated)

	// Roles: admins manage endpoints; employees may not even read them.
	admin := acme.Employee("admin")
	emp := acme.Employee("employee", "view_all_clients", "manage_all_clients")
	apptest.Expect(t, e.Get(admin.Token, path), http.StatusOK)
	apptest.Expect(t, e.Get(emp.Token, path), http.StatusForbidden)
	apptest.Expect(t, e.Get(emp.Token, "/api/webhook-endpoints/"), http.StatusForbidden)
	apptest.Expect(t, e.Post(emp.Token, "/api/webhook-endpoints/", map[string]any{"url": r.URL, "event_types": []string{"*"}}), http.StatusForbidden)
	apptest.Expect(t, e.Get(emp.Token, path+"deliveries/"), http.StatusForbidden)

	// Another account sees nothing of it.
	other := e.Account("Other")
	apptest.Expect(t, e.Get(other.Owner.Token, path), http.StatusNotFound)
	apptest.Expect(t, e.Patch(other.Owner.Token, path, map[string]any{"enabled": true}), http.StatusNotFound)
	apptest.Expect(t, e.Delete(other.Owner.Token, path), http.StatusNotFound)
	apptest.Expect(t, e.Get(other.Owner.Token, path+"deliveries/"), http.StatusNotFound)
	if n := apptest.Expect(t, e.Get(other.Owner.Token, "/api/webhook-endpoints/"), http.StatusOK).Map(t)["count"]; n != float64(0) {
		t.Fatalf("other account lists %v endpoints", n)
	}

	apptest.Expect(t, e.Delete(admin.Token, path), http.StatusNoContent)
	apptest.Expect(t, e.Get(acme.Owner.Token, path), http.StatusNotFound)
}

func TestSSRFRefusedAtRegistration(t *testing.T) {
	e := newEnv(t, nil) // the default: private destinations refused
	acme := e.Account("Acme")
	for _, u := range []string{
		"http://127.0.0.1/hook",
		"http://127.1.2.3:8080/hook",
		"http://10.0.0.1/hook",
		"http://172.16.5.4/hook",
		"http://192.168.1.1/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]/hook",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://[fe80::1]/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"http://0.0.0.0/hook",
		"http://100.64.0.1/hook",
		"http://224.0.0.1/hook",
		"http://localhost/hook",
		"http://LOCALHOST:9000/hook",
		"http://api.localhost/hook",
		"http://intranet/hook",
		"ftp://files.example.com/",
		"javascript:alert(1)",
		"/relative/path",
		"http://user:pw@hooks.example.com/",
	} {
		r := e.Post(acme.Owner.Token, "/api/webhook-endpoints/", map[string]any{"url": u, "event_types": []string{"*"}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"url"`) || !strings.Contains(string(r.Body), `"detail"`) {
			t.Errorf("%s: %s", u, r)
		}
	}
	// A public address is accepted (nothing is sent to it: no worker runs).
	created := apptest.Expect(t, e.Post(acme.Owner.Token, "/api/webhook-endpoints/", map[string]any{"url": "https://8.8.8.8/hook", "event_types": []string{"*"}, "enabled": false}), http.StatusCreated).Map(t)
	// Changing the URL to a private one is refused too, and changes nothing.
	path := "/api/webhook-endpoints/" + id(created) + "/"
	apptest.Expect(t, e.Patch(acme.Owner.Token, path, map[string]any{"url": "http://127.0.0.1:1/"}), http.StatusBadRequest)
	if got := apptest.Expect(t, e.Get(acme.Owner.Token, path), http.StatusOK).Map(t); got["url"] != "https://8.8.8.8/hook" {
		t.Fatalf("url changed: %v", got)
	}
	if n := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"), http.StatusOK).Map(t)["count"]; n != float64(1) {
		t.Fatalf("count = %v", n)
	}
}

func TestSSRFRefusedAtDelivery(t *testing.T) {
	// A name that resolved to a public address at registration and to a
	// private one now (DNS rebinding), or a row written by an older
	// version: the dialer refuses the resolved address, nothing is sent.
	e := newEnv(t, nil)
	acme := e.Account("Acme")
	r := newReceiver(t)
	host := strings.Replace(r.URL, "127.0.0.1", "localhost", 1)
	for _, u := range []string{r.URL + "/hook", host + "/hook"} {
		ctx := context.Background()
		_, err := e.DB.NewInsert().Model(&webhooks.Endpoint{AccountID: acme.ID, URL: u, EventTypes: []string{"*"}, Enabled: true,
			Secret: "whsec_test", CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}).Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
	acme.Employee("employee")
	if _, err := e.Worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows []webhooks.Delivery
	if err := e.DB.NewSelect().Model(&rows).Where("account_id = ?", acme.ID).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("deliveries = %d, want 2", len(rows))
	}
	for _, d := range rows {
		if d.Attempts != 1 || d.Status != webhooks.StatusPending || !strings.Contains(d.LastError, "Refused") || d.LastResponseCode != nil {
			t.Fatalf("delivery = %+v", d)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls != 0 {
		t.Fatalf("the receiver was called %d times", r.calls)
	}
}

func TestEmployeeEventsSignedAndDelivered(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)
	ep := register(t, e, acme.Owner.Token, r, "employee.created", "employee.deactivated")
	e.start(t)

	emp := acme.Employee("employee")
	apptest.Expect(t, e.Delete(acme.Owner.Token, "/api/employees/"+itoa(emp.ID)+"/"), http.StatusNoContent)
	waitFor(t, "two events", func() bool { return len(r.events()) == 2 })

	// Deliveries run concurrently: the order of arrival is not guaranteed.
	got := r.events()
	byType := map[string]received{}
	for _, g := range got {
		byType[g.Event.Type] = g
	}
	created, ok1 := byType[webhooks.EmployeeCreated]
	deactivated, ok2 := byType[webhooks.EmployeeDeactivated]
	if !ok1 || !ok2 {
		t.Fatalf("types = %v", r.types())
	}
	for _, g := range got {
		if !strings.HasPrefix(g.Event.ID, "evt_") || g.Event.Account != acme.ID || g.Event.Created.IsZero() {
			t.Fatalf("event = %+v", g.Event)
		}
		if g.Headers.Get("Crm-Event-Id") != g.Event.ID || g.Headers.Get("Content-Type") != "application/json" {
			t.Fatalf("headers = %v", g.Headers)
		}
		obj := g.Raw["data"].(map[string]any)["object"].(map[string]any)
		if obj["id"] != float64(emp.ID) || obj["email"] != emp.Email || obj["password_hash"] != nil {
			t.Fatalf("object = %v", obj)
		}
	}
	if prev := deactivated.Raw["data"].(map[string]any)["previous_attributes"].(map[string]any); prev["is_active"] != true {
		t.Fatalf("previous_attributes = %v", prev)
	}
	if r.bad != 0 {
		t.Fatalf("%d requests failed verification", r.bad)
	}

	// The delivery log.
	log := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/?ordering=id"), http.StatusOK).Map(t)
	results := log["results"].([]any)
	if log["count"] != float64(2) || len(results) != 2 {
		t.Fatalf("deliveries = %v", log)
	}
	d := results[0].(map[string]any)
	if d["status"] != "succeeded" || d["attempts"] != float64(1) || d["last_response_code"] != float64(204) ||
		d["event_type"] != "employee.created" || d["next_attempt_at"] != nil || d["delivered_at"] == nil || d["event_id"] != created.Event.ID {
		t.Fatalf("delivery = %v", d)
	}
	filtered := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/?status=failed"), http.StatusOK).Map(t)
	if filtered["count"] != float64(0) {
		t.Fatalf("failed deliveries = %v", filtered)
	}
	apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/?status=exploded"), http.StatusBadRequest)

	// Redeliver: the same event again, signed anew.
	path := "/api/webhook-endpoints/" + id(ep) + "/deliveries/" + fmt.Sprint(int64(d["id"].(float64))) + "/redeliver/"
	re := apptest.Expect(t, e.Post(acme.Owner.Token, path, nil), http.StatusOK).Map(t)
	if re["status"] != "pending" {
		t.Fatalf("redeliver = %v", re)
	}
	waitFor(t, "the redelivery", func() bool { return len(r.events()) == 3 })
	if again := r.events()[2]; again.Event.ID != created.Event.ID {
		t.Fatalf("redelivered %s, want %s", again.Event.ID, created.Event.ID)
	}
	waitFor(t, "the log to show two attempts", func() bool {
		d := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/?ordering=id"), http.StatusOK).Map(t)["results"].([]any)[0].(map[string]any)
		return d["status"] == "succeeded" && d["attempts"] == float64(2)
	})
	// A delivery of another endpoint, or another account, is 404.
	other := e.Account("Other")
	apptest.Expect(t, e.Post(other.Owner.Token, path, nil), http.StatusNotFound)
	apptest.Expect(t, e.Post(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/999999/redeliver/", nil), http.StatusNotFound)
}

func TestRetriesUntilTheReceiverAccepts(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)
	r.failures = 2
	ep := register(t, e, acme.Owner.Token, r, "employee.created")
	e.start(t)

	acme.Employee("employee")
	waitFor(t, "the event on the third attempt", func() bool { return len(r.events()) == 1 })
	r.mu.Lock()
	calls := r.calls
	r.mu.Unlock()
	if calls != 3 {
		t.Fatalf("receiver called %d times, want 3", calls)
	}
	var d map[string]any
	waitFor(t, "the log", func() bool {
		d = apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/"), http.StatusOK).Map(t)["results"].([]any)[0].(map[string]any)
		return d["status"] == "succeeded"
	})
	if d["attempts"] != float64(3) || d["last_response_code"] != float64(204) || d["last_error"] != "" {
		t.Fatalf("delivery = %v", d)
	}
}

// The window is long enough for several attempts (20 ms to 100 ms apart)
// even on a loaded machine: a 300 ms one left room for a single attempt.
func TestFailsAfterTheRetryWindow(t *testing.T) {
	e := newEnv(t, nil, fast, func(c *config.Config) { c.WebhooksRetryFor = 2 * time.Second })
	acme := e.Account("Acme")
	r := newReceiver(t)
	r.failures = 1 << 30
	ep := register(t, e, acme.Owner.Token, r, "employee.created")
	e.start(t)

	acme.Employee("employee")
	var d map[string]any
	waitFor(t, "the delivery to fail", func() bool {
		d = apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/"), http.StatusOK).Map(t)["results"].([]any)[0].(map[string]any)
		return d["status"] == "failed"
	})
	if d["attempts"].(float64) < 2 || d["last_response_code"] != float64(500) || !strings.Contains(d["last_error"].(string), "HTTP 500") || d["next_attempt_at"] != nil {
		t.Fatalf("delivery = %v", d)
	}
}

func countDeliveries(t *testing.T, e *env, accountID int64) int {
	t.Helper()
	n, err := e.DB.NewSelect().Model((*webhooks.Delivery)(nil)).Where("account_id = ?", accountID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestRolledBackChangeYieldsNoEvent(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)
	register(t, e, acme.Owner.Token, r, "*")

	// A change journaled, then rolled back by a later failure in the same
	// transaction: no outbox row survives.
	boom := errors.New("boom")
	err := db.InTx(context.Background(), e.DB, func(tx bun.Tx) error {
		if err := e.Journal.Record(context.Background(), tx, journal.Entry{Action: "create", ObjectType: "client", ObjectID: 42,
			AccountID: acme.ID, Object: map[string]any{"id": 42}}); err != nil {
			return err
		}
		if n := countDeliveriesIn(t, tx, acme.ID); n != 1 {
			t.Errorf("inside the transaction: %d deliveries, want 1", n)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := countDeliveries(t, e, acme.ID); n != 0 {
		t.Fatalf("%d deliveries after rollback", n)
	}
	// Through the API: a refused employee (duplicate email) writes nothing.
	apptest.Expect(t, e.Post(acme.Owner.Token, "/api/employees/", map[string]any{"name": "Dup", "email": acme.Owner.Email, "password": "another-password-1"}), http.StatusConflict)
	if n := countDeliveries(t, e, acme.ID); n != 0 {
		t.Fatalf("%d deliveries after a refused change", n)
	}
	// A committed one yields its event.
	acme.Employee("employee")
	if n := countDeliveries(t, e, acme.ID); n != 1 {
		t.Fatalf("%d deliveries after a committed change, want 1", n)
	}
}

func countDeliveriesIn(t *testing.T, idb bun.IDB, accountID int64) int {
	n, err := idb.NewSelect().Model((*webhooks.Delivery)(nil)).Where("account_id = ?", accountID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestDisabledAndOtherAccountsEndpointsGetNothing(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	other := e.Account("Other")
	mine, disabled, theirs, unsubscribed := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	register(t, e, acme.Owner.Token, mine, "*")
	off := register(t, e, acme.Owner.Token, disabled, "*")
	apptest.Expect(t, e.Patch(acme.Owner.Token, "/api/webhook-endpoints/"+id(off)+"/", map[string]any{"enabled": false}), http.StatusOK)
	register(t, e, other.Owner.Token, theirs, "*")
	register(t, e, acme.Owner.Token, unsubscribed, "client.deleted")
	e.start(t)

	emp := acme.Employee("employee")
	apptest.Expect(t, e.Delete(acme.Owner.Token, "/api/employees/"+itoa(emp.ID)+"/"), http.StatusNoContent)
	waitFor(t, "the account's endpoint", func() bool { return len(mine.events()) == 2 })
	// The other account's own change reaches its endpoint only.
	other.Employee("employee")
	waitFor(t, "the other account's endpoint", func() bool { return len(theirs.events()) == 1 })
	time.Sleep(200 * time.Millisecond)

	if n := len(disabled.events()); n != 0 {
		t.Fatalf("disabled endpoint got %d events", n)
	}
	if n := len(unsubscribed.events()); n != 0 {
		t.Fatalf("unsubscribed endpoint got %d events", n)
	}
	if got := theirs.events(); len(got) != 1 || got[0].Event.Account != other.ID {
		t.Fatalf("other account's endpoint got %v", theirs.types())
	}
	for _, g := range mine.events() {
		if g.Event.Account != acme.ID {
			t.Fatalf("event of account %d reached account %d", g.Event.Account, acme.ID)
		}
	}
}

func TestDisablingAfterQueueingFailsTheDelivery(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)
	ep := register(t, e, acme.Owner.Token, r, "*")
	acme.Employee("employee") // queued while enabled, worker not running
	apptest.Expect(t, e.Patch(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/", map[string]any{"enabled": false}), http.StatusOK)
	if _, err := e.Worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := apptest.Expect(t, e.Get(acme.Owner.Token, "/api/webhook-endpoints/"+id(ep)+"/deliveries/"), http.StatusOK).Map(t)["results"].([]any)[0].(map[string]any)
	if d["status"] != "failed" || d["last_error"] != "Endpoint disabled." || len(r.events()) != 0 {
		t.Fatalf("delivery = %v", d)
	}
}

func TestTwoWorkersDeliverEachEventOnce(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)
	r.delay = 5 * time.Millisecond
	register(t, e, acme.Owner.Token, r, "*")

	const events = 60
	ctx := context.Background()
	err := db.InTx(ctx, e.DB, func(tx bun.Tx) error {
		for i := 1; i <= events; i++ {
			if err := e.Journal.Record(ctx, tx, journal.Entry{Action: "create", ObjectType: "client", ObjectID: int64(i),
				AccountID: acme.ID, Object: map[string]any{"id": i}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A second instance: its own connection pool on the same database.
	second, err := db.Open(e.Config.DatabaseURL, db.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close() })
	opts := webhooks.OptionsFrom(e.Config)
	opts.BatchSize = 4
	workers := []*webhooks.Worker{webhooks.NewWorker(db.Owner{DB: e.DB}, nil, opts, nil), webhooks.NewWorker(db.Owner{DB: second}, nil, opts, nil)}
	var wg sync.WaitGroup
	claimedBy := make([]int, len(workers))
	stop := make(chan struct{})
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, err := w.RunOnce(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				claimedBy[i] += n
				if n == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	waitFor(t, "every event", func() bool { return len(r.events()) >= events })
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()

	seen := map[string]int{}
	for _, g := range r.events() {
		seen[g.Event.ID]++
	}
	if len(seen) != events || len(r.events()) != events {
		t.Fatalf("%d distinct events in %d requests, want %d once each", len(seen), len(r.events()), events)
	}
	if claimedBy[0]+claimedBy[1] != events {
		t.Fatalf("claims = %v, want %d in all", claimedBy, events)
	}
	t.Logf("claims per worker: %v", claimedBy)
	var pending int64
	pending, err = e.DB.NewSelect().Model((*webhooks.Delivery)(nil)).Where("status <> ? OR attempts <> 1", webhooks.StatusSucceeded).Count(ctx)
	if err != nil || pending != 0 {
		t.Fatalf("%d deliveries not succeeded at the first attempt (%v)", pending, err)
	}
}

func TestClientEvents(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)
	register(t, e, acme.Owner.Token, r, "client.created", "client.updated", "client.status_changed", "client.deleted")
	e.start(t)

	c := apptest.Expect(t, e.Post(acme.Owner.Token, "/api/clients/", map[string]any{"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "phone": "+15550000001"}), http.StatusCreated).Map(t)
	path := "/api/clients/" + id(c) + "/"
	apptest.Expect(t, e.Patch(acme.Owner.Token, path, map[string]any{"first_name": "Anne"}), http.StatusOK)
	apptest.Expect(t, e.Patch(acme.Owner.Token, path, map[string]any{"status": "paused"}), http.StatusOK)
	apptest.Expect(t, e.Delete(acme.Owner.Token, path), http.StatusNoContent)
	// A refused change (an invalid status) yields nothing.
	apptest.Expect(t, e.Post(acme.Owner.Token, "/api/clients/", map[string]any{"first_name": "A", "last_name": "B", "email": "x@example.com", "phone": "1", "status": "exploded"}), http.StatusBadRequest)
	waitFor(t, "five events", func() bool { return len(r.events()) >= 5 })
	time.Sleep(100 * time.Millisecond)

	count := map[string]int{}
	var statusChanged, deleted, renamed received
	for _, g := range r.events() {
		count[g.Event.Type]++
		switch g.Event.Type {
		case webhooks.ClientStatusChanged:
			statusChanged = g
		case webhooks.ClientDeleted:
			deleted = g
		case webhooks.ClientUpdated:
			if prev, _ := g.Raw["data"].(map[string]any)["previous_attributes"].(map[string]any); prev["first_name"] == "Ann" {
				renamed = g
			}
		}
	}
	// Two updates (one of them the status change) and one status change.
	if count[webhooks.ClientCreated] != 1 || count[webhooks.ClientUpdated] != 2 || count[webhooks.ClientStatusChanged] != 1 || count[webhooks.ClientDeleted] != 1 || len(r.events()) != 5 {
		t.Fatalf("events = %v", r.types())
	}
	if obj := renamed.Raw["data"].(map[string]any)["object"].(map[string]any); obj["first_name"] != "Anne" || obj["id"] != c["id"] {
		t.Fatalf("client.updated object = %v", obj)
	}
	sc := statusChanged.Raw["data"].(map[string]any)
	if sc["object"].(map[string]any)["status"] != "paused" || sc["previous_attributes"].(map[string]any)["status"] != "active" {
		t.Fatalf("client.status_changed data = %v", sc)
	}
	del := deleted.Raw["data"].(map[string]any)["object"].(map[string]any)
	if del["id"] != c["id"] || del["deleted"] != true || del["email"] != "ann@example.com" {
		t.Fatalf("client.deleted object = %v", del)
	}
}

func TestWorkerRunsWithTheAppLifecycle(t *testing.T) {
	// The app as `crm serve` builds it (less the HTTP listener): the worker
	// starts with the app and stops with it; an app that is never started
	// never delivers.
	cfg := apptest.TestConfig(t)
	fast(&cfg)
	var (
		server *httpx.Server
		accts  *accounts.Service
	)
	app := fx.New(fx.Supply(cfg, boot.Version("test")), boot.Module, fx.Provide(boot.NewSigner), boot.Workers,
		identitytest.Base(), business(), webhooks.Module, fx.Populate(&server, &accts), fx.NopLogger)
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	a := &apptest.App{T: t, Config: cfg, Server: server}
	_, _, err := accts.CreateWithOwner(context.Background(), "Acme", "owner@lifecycle.example.com", identitytest.Password)
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		Token string `json:"token"`
	}
	apptest.Expect(t, a.Post("", "/api/auth/login/", map[string]string{"email": "owner@lifecycle.example.com", "password": identitytest.Password}), http.StatusOK).JSON(t, &login)
	r := newReceiver(t)
	out := apptest.Expect(t, a.Post(login.Token, "/api/webhook-endpoints/", map[string]any{"url": r.URL, "event_types": []string{"employee.created"}}), http.StatusCreated).Map(t)
	r.setSecret(out["secret"].(string))
	newEmployee := func(n int) {
		apptest.Expect(t, a.Post(login.Token, "/api/employees/", map[string]any{"name": "E", "email": fmt.Sprintf("e%d@lifecycle.example.com", n), "password": identitytest.Password}), http.StatusCreated)
	}

	newEmployee(1)
	time.Sleep(150 * time.Millisecond)
	if n := len(r.events()); n != 0 {
		t.Fatalf("delivered %d events before the app started", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event once started", func() bool { return len(r.events()) == 1 })
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPaymentAndInstalmentEvents(t *testing.T) {
	e := newEnv(t, nil, fast)
	acme := e.Account("Acme")
	r := newReceiver(t)
	register(t, e, acme.Owner.Token, r, "payment.recorded", "payment.status_changed", "instalment.paid", "instalment.overdue")
	e.start(t)
	tok := acme.Owner.Token

	c := apptest.Expect(t, e.Post(tok, "/api/clients/", map[string]any{"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}), http.StatusCreated).Map(t)
	p := apptest.Expect(t, e.Post(tok, "/api/payments/", map[string]any{"client": c["id"], "amount": "99.99", "currency": "usd", "status": "paid", "payment_date": "2026-01-15"}), http.StatusCreated).Map(t)
	apptest.Expect(t, e.Patch(tok, "/api/payments/"+id(p)+"/", map[string]any{"status": "refunded"}), http.StatusOK)
	instalment := func(n int, date, status string) map[string]any {
		return apptest.Expect(t, e.Post(tok, "/api/installments/", map[string]any{"client": c["id"], "amount": "10.00", "currency": "USD",
			"schedule_date": date, "instalment_number": n, "status": status}), http.StatusCreated).Map(t)
	}
	toPay := instalment(1, "2099-01-01", "open")
	apptest.Expect(t, e.Patch(tok, "/api/installments/"+id(toPay)+"/", map[string]any{"status": "paid"}), http.StatusOK)
	late := instalment(2, "2020-01-01", "open")
	instalment(3, "2020-02-01", "closed")                         // past, but not open
	instalment(4, time.Now().UTC().Format(time.DateOnly), "open") // due today: not overdue yet
	waitFor(t, "three events", func() bool { return len(r.events()) == 3 })

	// The overdue scan: once per instalment, however often it runs.
	n, err := e.Worker.ScanOverdue(context.Background(), time.Now())
	if err != nil || n != 1 {
		t.Fatalf("scan announced %d (%v), want 1", n, err)
	}
	if n, err := e.Worker.ScanOverdue(context.Background(), time.Now()); err != nil || n != 0 {
		t.Fatalf("second scan announced %d (%v), want 0", n, err)
	}
	waitFor(t, "four events", func() bool { return len(r.events()) == 4 })
	time.Sleep(100 * time.Millisecond)

	byType := map[string]map[string]any{}
	for _, g := range r.events() {
		byType[g.Event.Type] = g.Raw["data"].(map[string]any)
	}
	if len(r.events()) != 4 || len(byType) != 4 {
		t.Fatalf("events = %v", r.types())
	}
	if obj := byType["payment.recorded"]["object"].(map[string]any); obj["amount"] != "99.99" || obj["currency"] != "USD" || obj["status"] != "paid" {
		t.Fatalf("payment.recorded = %v", obj)
	}
	if d := byType["payment.status_changed"]; d["object"].(map[string]any)["status"] != "refunded" || d["previous_attributes"].(map[string]any)["status"] != "paid" {
		t.Fatalf("payment.status_changed = %v", d)
	}
	if obj := byType["instalment.paid"]["object"].(map[string]any); obj["id"] != toPay["id"] || obj["status"] != "paid" {
		t.Fatalf("instalment.paid = %v", obj)
	}
	if obj := byType["instalment.overdue"]["object"].(map[string]any); obj["id"] != late["id"] || obj["status"] != "open" || obj["schedule_date"] != "2020-01-01" {
		t.Fatalf("instalment.overdue = %v", obj)
	}
}

// The overdue scan reads every account's instalments in batches, in the
// order of their key (account_id, id): instalments of two accounts
// created in turn, more than a batch in all, are each announced once.
func TestOverdueScanCoversEveryAccountPastABatch(t *testing.T) {
	e := newEnv(t, nil, fast)
	const each = 130 // two accounts: more than one batch of the scan
	accounts := []int64{}
	var clients []map[string]any
	var tokens []string
	for _, name := range []string{"Acme", "Globex"} {
		a := e.Account(name)
		accounts = append(accounts, a.ID)
		tokens = append(tokens, a.Owner.Token)
		clients = append(clients, apptest.Expect(t, e.Post(a.Owner.Token, "/api/clients/", map[string]any{
			"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}), http.StatusCreated).Map(t))
	}
	for n := 1; n <= each; n++ {
		for i, tok := range tokens {
			apptest.Expect(t, e.Post(tok, "/api/installments/", map[string]any{"client": clients[i]["id"], "amount": "10.00",
				"currency": "USD", "schedule_date": "2020-01-01", "instalment_number": n, "status": "open"}), http.StatusCreated)
		}
	}
	if n, err := e.Worker.ScanOverdue(context.Background(), time.Now()); err != nil || n != 2*each {
		t.Fatalf("scan announced %d (%v), want %d", n, err, 2*each)
	}
	if n, err := e.Worker.ScanOverdue(context.Background(), time.Now()); err != nil || n != 0 {
		t.Fatalf("second scan announced %d (%v), want 0", n, err)
	}
	for _, acc := range accounts {
		n, err := e.DB.NewSelect().Table("webhook_overdue_instalments").Where("account_id = ?", acc).Count(context.Background())
		if err != nil || n != each {
			t.Fatalf("account %d: %d instalments announced (%v), want %d", acc, n, err, each)
		}
	}
}
