package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"crm/modules/accounts"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/httpx"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

// The demo account: a small, realistic coaching business to log in to and
// look at. The account and its super_admin are created as `crm accounts
// create` creates them; everything else goes through the API itself, in
// process (the real middleware, policy, services and validation, no SQL), as
// the super_admin, so the demo data is what a user could have entered.

// DemoAccountName names the demo account.
const DemoAccountName = "Northwind Coaching (demo)"

// demoDomain is reserved for examples (RFC 2606): no mail reaches anybody.
const demoDomain = "northwind.example.com"

type demoLogin struct {
	Role, Name, Email, JobRole string
}

// demoLogins are the demo's employees; the first is the account's owner.
var demoLogins = []demoLogin{
	{"super_admin", "Olivia Bennett", "olivia@" + demoDomain, "Founder"},
	{"admin", "Marcus Reed", "marcus@" + demoDomain, "Operations Manager"},
	{"employee", "Ana Silva", "ana@" + demoDomain, "Coach"},
	{"employee", "James Carter", "james@" + demoDomain, "Sales Closer"},
	{"employee", "Priya Nair", "priya@" + demoDomain, "Appointment Setter"},
}

// DemoResult is what a seed made.
type DemoResult struct {
	AccountID int64
	Password  string
	Logins    []demoLogin
	Counts    map[string]int
}

const seedDemoUsage = "usage: crm seed demo [--password PW]"

// seedDemoCommand is `crm seed demo`.
func seedDemoCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed demo", flag.ContinueOnError)
	password := fs.String("password", "", "password of every demo login (default: a random one, printed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New(seedDemoUsage)
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if os.Getenv("CRM_LOG_LEVEL") == "" {
		cfg.LogLevel = "warn" // not a log line for each call the seed makes
	}
	var d *bun.DB
	var srv *httpx.Server
	var acc *accounts.Service
	if _, err := newApp(cfg, boot.Command, fx.Populate(&d, &srv, &acc)); err != nil {
		return err
	}
	defer d.Close()
	res, err := seedDemo(context.Background(), srv.App, acc, *password)
	if err != nil {
		return err
	}
	printDemo(stdout, res, cfg)
	return nil
}

// seedDemoIfEmpty is `crm serve --demo` once the server runs: when the
// database has no account yet, it seeds the demo account and prints its
// logins.
func seedDemoIfEmpty(ctx context.Context, d db.Owner, srv *httpx.Server, acc *accounts.Service, cfg config.Config, stdout io.Writer) error {
	var n int
	if err := d.NewSelect().Table("accounts").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		return fmt.Errorf("demo: count accounts: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(stdout, "crm: the database already has %d account(s): no demo data added (log in with your own accounts, or the demo logins printed when it was seeded).\n", n)
		return nil
	}
	res, err := seedDemo(ctx, srv.App, acc, "")
	if err != nil {
		return err
	}
	printDemo(stdout, res, cfg)
	return nil
}

// randomPassword is 16 letters and digits, never all digits.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "demo-" + string(b)
}

// seedDemo creates the demo account and its data.
func seedDemo(ctx context.Context, app *fiber.App, acc *accounts.Service, password string) (*DemoResult, error) {
	if password == "" {
		password = randomPassword()
	}
	owner := demoLogins[0]
	account, ownerID, err := acc.CreateWithOwner(ctx, DemoAccountName, owner.Email, password)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "exist") {
			return nil, fmt.Errorf("the demo account seems to exist already (%s): %w", owner.Email, err)
		}
		return nil, fmt.Errorf("demo account: %w", err)
	}
	api := &demoAPI{app: app}
	var login struct {
		Token string `json:"token"`
	}
	if err := api.call(http.MethodPost, "/api/auth/login/", map[string]string{"email": owner.Email, "password": password}, &login); err != nil {
		return nil, err
	}
	api.token = login.Token
	s := &demoSeed{api: api, password: password, employees: map[string]int64{"olivia": ownerID},
		res: &DemoResult{AccountID: account.ID, Password: password, Logins: demoLogins, Counts: map[string]int{}}}
	for _, step := range []func() error{s.addEmployees, s.addClients, s.addPackages, s.addSales, s.addPayments, s.addStripeCustomers} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return s.res, nil
}

// demoSeed is one run of seedDemo: the API as the owner, and what it made.
type demoSeed struct {
	api       *demoAPI
	password  string
	res       *DemoResult
	employees map[string]int64 // by the local part of the email ("tom": the former employee)
	clients   []int64          // the ids of demoClients
	packages  []int64          // the ids of demoPackages
	cps       []int64          // the client packages, in the order addSales makes them
	today     time.Time
}

// create posts body to path and returns the new object's id.
func (s *demoSeed) create(path string, body any) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := s.api.call(http.MethodPost, path, body, &out)
	return out.ID, err
}

// addEmployees completes the owner and adds the other logins, and a former
// employee: inactive, cannot log in, still named on old clients.
func (s *demoSeed) addEmployees() error {
	owner := demoLogins[0]
	if err := s.api.call(http.MethodPatch, fmt.Sprintf("/api/employees/%d/", s.employees["olivia"]), map[string]any{
		"name": owner.Name, "job_role": owner.JobRole, "phone_number": "+1 415 555 0100"}, nil); err != nil {
		return err
	}
	for i, l := range demoLogins[1:] {
		body := map[string]any{"name": l.Name, "email": l.Email, "password": s.password, "role": l.Role,
			"job_role": l.JobRole, "phone_number": fmt.Sprintf("+1 415 555 01%02d", i+1)}
		if l.Email == "james@"+demoDomain {
			body["permissions"] = []string{"view_all_clients"}
		}
		id, err := s.create("/api/employees/", body)
		if err != nil {
			return err
		}
		s.employees[strings.SplitN(l.Email, "@", 2)[0]] = id
	}
	former, err := s.create("/api/employees/", map[string]any{"name": "Tom Becker", "email": "tom@" + demoDomain,
		"password": s.password, "role": "employee", "job_role": "Coach (left)", "is_active": false})
	if err != nil {
		return err
	}
	s.employees["tom"] = former
	s.res.Counts["employees"] = len(demoLogins) + 1
	return nil
}

type demoClient struct {
	first, last, status, country, currency, coach, closer, setter, notes string
}

// demoClients are in every status, assigned to the coach, closer and setter.
var demoClients = []demoClient{
	{"Emma", "Johnson", "active", "US", "USD", "ana", "james", "priya", "Wants to grow her bakery to a second shop."},
	{"Liam", "Smith", "active", "GB", "GBP", "ana", "james", "priya", "Prefers calls on Tuesdays."},
	{"Sophie", "Müller", "active", "DE", "EUR", "ana", "james", "", "Pays by card; invoices in EUR."},
	{"Noah", "Brown", "active", "CA", "USD", "", "james", "priya", ""},
	{"Chloé", "Martin", "onboarding", "FR", "EUR", "ana", "", "priya", "Kick-off call booked."},
	{"Lucas", "García", "onboarding", "ES", "EUR", "", "james", "priya", ""},
	{"Olivia", "Wilson", "paused", "AU", "USD", "ana", "james", "", "Paused for parental leave until next quarter."},
	{"Ethan", "Taylor", "inactive", "US", "USD", "tom", "james", "priya", "Coach left; to be reassigned."},
	{"Mia", "Davies", "cancelled", "GB", "GBP", "", "james", "", "Cancelled after the first month."},
}

func (c demoClient) email() string {
	return strings.ToLower(asciiOnly(c.first)+"."+asciiOnly(c.last)) + "@client.example.com"
}

func (s *demoSeed) addClients() error {
	ref := func(name string) any {
		if name == "" {
			return nil
		}
		return s.employees[name]
	}
	for i, c := range demoClients {
		id, err := s.create("/api/clients/", map[string]any{"first_name": c.first, "last_name": c.last,
			"email": c.email(), "phone": fmt.Sprintf("+1 212 555 %04d", 1000+i),
			"status": c.status, "country": c.country, "currency": c.currency,
			"coach": ref(c.coach), "closer": ref(c.closer), "setter": ref(c.setter), "notes": c.notes})
		if err != nil {
			return err
		}
		s.clients = append(s.clients, id)
	}
	s.res.Counts["clients"] = len(demoClients)
	return nil
}

var demoPackages = []struct{ name, desc string }{
	{"Starter Coaching", "Four one-to-one sessions over a month, with a written action plan."},
	{"Growth Program", "Six months of fortnightly coaching, a group workshop each month and email support."},
	{"Elite Mentorship", "A year of weekly mentoring with the founder, quarterly strategy days and priority support."},
}

func (s *demoSeed) addPackages() error {
	for _, p := range demoPackages {
		id, err := s.create("/api/packages/", map[string]any{"package_name": p.name, "description": p.desc})
		if err != nil {
			return err
		}
		s.packages = append(s.packages, id)
	}
	s.res.Counts["packages"] = len(demoPackages)
	return nil
}

// addSales adds the client packages and their instalments, dated around
// today.
func (s *demoSeed) addSales() error {
	s.today = time.Now().UTC().Truncate(24 * time.Hour)
	day := func(months, days int) string { return s.today.AddDate(0, months, days).Format(time.DateOnly) }
	sales := []struct {
		client, pkg      int
		price, monthly   string
		schedule, status string
		start, end       string
		months           int // instalments, for a Monthly or Quarterly schedule
	}{
		{0, 1, "2400.00", "400.00", "Monthly", "active", day(-3, 0), day(3, 0), 6},
		{1, 0, "499.00", "499.00", "PIF", "active", day(-1, 0), day(0, 0), 0},
		{2, 2, "9000.00", "2250.00", "Quarterly", "active", day(-4, 0), day(8, 0), 4},
		{3, 1, "2200.00", "366.67", "Monthly", "active", day(-2, 0), day(4, 0), 6},
		{4, 0, "450.00", "450.00", "PIF", "active", day(0, -5), day(1, -5), 0},
		{6, 2, "8500.00", "8500.00", "Yearly", "inactive", day(-6, 0), day(6, 0), 0},
		{8, 0, "399.00", "399.00", "PIF", "inactive", day(-2, 0), day(-1, 0), 0},
	}
	for _, sale := range sales {
		cp, err := s.create("/api/client-packages/", map[string]any{
			"client": s.clients[sale.client], "package": s.packages[sale.pkg], "custom_price": sale.price,
			"monthly_payment_amount": sale.monthly, "payment_schedule": sale.schedule,
			"start_date": sale.start, "end_date": sale.end, "status": sale.status})
		if err != nil {
			return err
		}
		s.cps = append(s.cps, cp)
		s.res.Counts["client_packages"]++
		every := 1
		if sale.schedule == "Quarterly" {
			every = 3
		}
		start, _ := time.Parse(time.DateOnly, sale.start)
		for n := 1; n <= sale.months; n++ {
			due := start.AddDate(0, (n-1)*every, 0)
			status := "open"
			switch {
			case due.Before(s.today) && n == 2 && sale.client == 3:
				status = "failed" // the card of Noah Brown was declined once
			case due.Before(s.today):
				status = "paid"
			}
			if err := s.instalment(sale.client, cp, sale.monthly, due.Format(time.DateOnly), status, n); err != nil {
				return err
			}
		}
	}
	// A closed instalment: the plan of the cancelled client, written off.
	return s.instalment(8, s.cps[6], "399.00", day(-1, 0), "closed", 1)
}

// instalment adds instalment n of client package cp of demoClients[client].
func (s *demoSeed) instalment(client int, cp int64, amount, date, status string, n int) error {
	if err := s.api.call(http.MethodPost, "/api/installments/", map[string]any{
		"client": s.clients[client], "client_package": cp, "amount": amount, "currency": demoClients[client].currency,
		"schedule_date": date, "status": status, "instalment_number": n}, nil); err != nil {
		return err
	}
	s.res.Counts["installments"]++
	return nil
}

var demoPayments = []struct {
	client             int
	amount, status     string
	monthsAgo, daysAgo int
}{
	{0, "400.00", "paid", 3, 0}, {0, "400.00", "paid", 2, 0}, {0, "400.00", "paid", 1, 0},
	{1, "499.00", "paid", 1, 0},
	{2, "2250.00", "paid", 4, 0}, {2, "2250.00", "paid", 1, 0},
	{3, "366.67", "paid", 2, 0}, {3, "366.67", "failed", 1, 0}, {3, "366.67", "paid", 0, -20},
	{4, "450.00", "paid", 0, -5},
	{6, "8500.00", "disputed", 6, 0},
	{7, "120.00", "refunded", 5, 0},
	{8, "399.00", "refunded", 2, 0},
}

func (s *demoSeed) addPayments() error {
	for i, p := range demoPayments {
		if err := s.api.call(http.MethodPost, "/api/payments/", map[string]any{
			"client": s.clients[p.client], "amount": p.amount, "currency": demoClients[p.client].currency, "status": p.status,
			"payment_date":             s.today.AddDate(0, -p.monthsAgo, p.daysAgo).Format(time.DateOnly),
			"stripe_payment_intent_id": fmt.Sprintf("pi_demo_%04d", i+1)}, nil); err != nil {
			return err
		}
	}
	s.res.Counts["payments"] = len(demoPayments)
	return nil
}

// addStripeCustomers adds those of the clients who pay by card.
func (s *demoSeed) addStripeCustomers() error {
	for _, i := range []int{0, 1, 2, 3, 6} {
		c := demoClients[i]
		status := "active"
		if c.status == "paused" {
			status = "inactive"
		}
		if err := s.api.call(http.MethodPost, "/api/stripe-customers/", map[string]any{
			"client": s.clients[i], "stripe_customer_id": fmt.Sprintf("cus_demo_%04d", i+1),
			"email": c.email(), "status": status}, nil); err != nil {
			return err
		}
		s.res.Counts["stripe_customers"]++
	}
	return nil
}

// asciiOnly keeps the ASCII letters of s, for an email address.
func asciiOnly(s string) string {
	r := strings.NewReplacer("ü", "u", "é", "e", "í", "i", "á", "a", "ó", "o")
	s = r.Replace(s)
	var b strings.Builder
	for _, c := range s {
		if c < 128 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// demoAPI calls the API in process, through the Fiber app.
type demoAPI struct {
	app   *fiber.App
	token string
}

func (a *demoAPI) call(method, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, "http://localhost"+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.app.Test(req, -1)
	if err != nil {
		return fmt.Errorf("demo: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("demo: %s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(got))
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return fmt.Errorf("demo: %s %s: %w", method, path, err)
		}
	}
	return nil
}

// printDemo tells the logins, where to use them, and a first call.
func printDemo(w io.Writer, r *DemoResult, cfg config.Config) {
	base := "http://" + publicAddr(cfg.HTTPAddr)
	fmt.Fprintf(w, "\nDemo account %q (id %d) is ready: %d employees, %d clients, %d packages, %d client packages, %d payments, %d instalments, %d Stripe customers.\n",
		DemoAccountName, r.AccountID, r.Counts["employees"], r.Counts["clients"], r.Counts["packages"], r.Counts["client_packages"],
		r.Counts["payments"], r.Counts["installments"], r.Counts["stripe_customers"])
	fmt.Fprintf(w, "Every demo login has the password: %s\n\n", r.Password)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tEMAIL\tNAME")
	for _, l := range r.Logins {
		fmt.Fprintf(tw, "  %s\t%s\t%s (%s)\n", l.Role, l.Email, l.Name, l.JobRole)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nTry it: %s/api/docs (Try it out on POST /api/auth/login/), or\n", base)
	fmt.Fprintf(w, "  curl -s %s/api/auth/login/ -H 'Content-Type: application/json' -d '{\"email\": %q, \"password\": %q}'\n\n",
		base, r.Logins[0].Email, r.Password)
}

// publicAddr is the address a person types in a browser for a listen address.
func publicAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
