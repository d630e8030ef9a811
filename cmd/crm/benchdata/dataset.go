// Package benchdata builds the standard benchmark dataset of
// shared/DATASET.md: the same accounts, logins, rows, order and values on
// every load. Every value is a function of a row index (no random
// generator), so this file is the dataset's definition in Go and the loader
// only writes what it says.
//
// It is composition code, like cmd/crm: it knows the tables of several
// modules (by their migrations) and writes them in bulk, which no module's
// service is meant to do.
package benchdata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Password is the password of every login of the dataset.
const Password = "bench-password-1"

// Params size the dataset. Standard() is the one performance is compared on.
type Params struct {
	Clients           int // N: clients of Bench Co
	PaymentsPerClient int // P
	Employees         int // E: employees of Bench Co besides its super_admin
	Seed              int // S: shifts the names
}

// Standard is N=20000, P=3, E=50, S=42.
func Standard() Params { return Params{Clients: 20000, PaymentsPerClient: 3, Employees: 50, Seed: 42} }

// Validate refuses sizes the dataset's formulas do not cover.
func (p Params) Validate() error {
	switch {
	case p.Clients < 0:
		return fmt.Errorf("--clients must be 0 or more")
	case p.PaymentsPerClient < 0:
		return fmt.Errorf("--payments-per-client must be 0 or more")
	case p.Employees < 2:
		// The team needs at least one employee beside the admins.
		return fmt.Errorf("--employees must be at least 2")
	case p.Seed < 0:
		return fmt.Errorf("--seed must be 0 or more")
	}
	return nil
}

// OtherAccounts is how many "Other Co" accounts sit beside Bench Co.
const OtherAccounts = 4

// Account is one account of the dataset and its logins.
type Account struct {
	Name       string // "Bench Co", "Other Co 1"
	Tag        string // "bench", "other1": client emails and payment intents
	AdminEmail string // the super_admin
	Employees  int    // employees besides the super_admin
	Clients    int
	other      int // 0 for Bench Co, a for Other Co a
}

// Accounts are the dataset's accounts in creation order: Bench Co, then
// Other Co 1..4.
func (p Params) Accounts() []Account {
	out := []Account{{Name: "Bench Co", Tag: "bench", AdminEmail: "bench@example.com", Employees: p.Employees, Clients: p.Clients}}
	for a := 1; a <= OtherAccounts; a++ {
		out = append(out, Account{Name: fmt.Sprintf("Other Co %d", a), Tag: fmt.Sprintf("other%d", a),
			AdminEmail: fmt.Sprintf("other%d@example.com", a), Employees: 5, Clients: 1000, other: a})
	}
	return out
}

// EmployeeEmail is the login of employee n (1-based) of the account.
func (a Account) EmployeeEmail(n int) string {
	if a.other == 0 {
		return fmt.Sprintf("emp%d@bench.example.com", n)
	}
	return fmt.Sprintf("o%demp%d@bench.example.com", a.other, n)
}

// Admins is A = max(1, count // 10): employees 1..A are admins.
func (a Account) Admins() int { return max(1, a.Employees/10) }

// TeamSize is m, the number of employees with role employee.
func (a Account) TeamSize() int { return a.Employees - a.Admins() }

// Employee is one employee row of the dataset.
type Employee struct {
	N           int // 0 for the super_admin, else 1..count
	Email       string
	Name        string
	Role        string
	JobRole     string
	PhoneNumber string
}

// EmployeeAt returns the super_admin (n = 0) or employee n.
func (a Account) EmployeeAt(n int) Employee {
	if n == 0 {
		return Employee{Email: a.AdminEmail, Name: a.Name + " Admin", Role: "super_admin", JobRole: "Owner"}
	}
	e := Employee{N: n, Email: a.EmployeeEmail(n), Name: fmt.Sprintf("%s Employee %d", a.Name, n),
		Role: "employee", JobRole: "Sales", PhoneNumber: "+1555" + pad7(n)}
	if n <= a.Admins() {
		e.Role, e.JobRole = "admin", "Manager"
	}
	return e
}

// Package is one of the five packages of every account.
type Package struct {
	Name        string
	Description string
	PriceCents  int64
}

// Packages in creation order.
var Packages = [5]Package{
	{"Starter", "Starter coaching package", 500_00},
	{"Growth", "Growth coaching package", 1000_00},
	{"Pro", "Pro coaching package", 2000_00},
	{"Premium", "Premium coaching package", 3500_00},
	{"Elite", "Elite coaching package", 5000_00},
}

// First and Last are the name lists of DATASET.md.
var (
	First = strings.Fields(`James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth
		David Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen
		Daniel Nancy Matthew`)
	Last = strings.Fields(`Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
		Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee
		Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker
		Young Allen King Wright Scott Torres Nguyen Hill Flores Green
		Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Smith
		Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes
		Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
		Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
		Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
		Price Alvarez Castillo Sanders Patel Myers Long`)
	Countries  = []string{"US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "IE"}
	Currencies = []string{"USD", "EUR", "GBP"}
	Schedules  = []string{"PIF", "Monthly", "Quarterly", "Yearly"}
	// Statuses of a client, in the order of the statistics.
	Statuses = []string{"active", "inactive", "onboarding", "paused", "cancelled"}
)

// Client is client i of an account. Coach, Closer and Setter are indexes
// into the account's team T (0-based).
type Client struct {
	I                     int
	FirstName, LastName   string
	Email, Phone, Status  string
	Coach, Closer, Setter int
	Country, Currency     string
	Notes                 string
	CreatedAtOffset       time.Duration // after the load time
	PackageIndex          int
	PriceCents, Monthly   int64
	Schedule              string
	StartDate             time.Time // a date (UTC midnight)
	PackageStatus         string
}

// ClientStatus is the status of client i: b = i % 100, < 70 active, < 80
// inactive, < 92 onboarding, < 97 paused, else cancelled.
func ClientStatus(i int) string {
	switch b := i % 100; {
	case b < 70:
		return "active"
	case b < 80:
		return "inactive"
	case b < 92:
		return "onboarding"
	case b < 97:
		return "paused"
	}
	return "cancelled"
}

var day0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// ClientAt is client i of account a.
func (p Params) ClientAt(a Account, i int) Client {
	first, last := First[(i+p.Seed)%len(First)], Last[(i+p.Seed)%len(Last)]
	m := a.TeamSize()
	c := Client{
		I: i, FirstName: first, LastName: last,
		Email:  strings.ToLower(first) + "." + strings.ToLower(last) + "." + strconv.Itoa(i) + "@" + a.Tag + "-client.example.com",
		Phone:  "+1444" + pad7(i),
		Status: ClientStatus(i),
		Coach:  i % m, Closer: (i + 1) % m, Setter: (i + 2) % m,
		Country:         Countries[(i/100)%len(Countries)],
		Currency:        Currencies[i%len(Currencies)],
		Notes:           "Bench client " + strconv.Itoa(i),
		CreatedAtOffset: time.Duration(i) * time.Microsecond,
		PackageIndex:    i % len(Packages),
		Schedule:        Schedules[i%len(Schedules)],
		StartDate:       day0.AddDate(0, 0, i%365),
	}
	c.PriceCents = Packages[c.PackageIndex].PriceCents
	c.Monthly = c.PriceCents / 10
	c.PackageStatus = "inactive"
	switch c.Status {
	case "active", "onboarding", "paused":
		c.PackageStatus = "active"
	}
	return c
}

// Payment is payment j of a client.
type Payment struct {
	AmountCents int64
	Currency    string
	Status      string
	Date        time.Time // a date
	IntentID    string
}

// PaymentAt is payment j (0-based) of client c of account a.
func (p Params) PaymentAt(a Account, c Client, j int) Payment {
	k := c.I*p.PaymentsPerClient + j
	pay := Payment{AmountCents: c.Monthly + int64(k%100), Currency: c.Currency,
		Date: c.StartDate.AddDate(0, 0, 30*j), IntentID: fmt.Sprintf("pi_%s_%06d_%d", a.Tag, c.I, j)}
	switch s := k % 100; {
	case s < 90:
		pay.Status = "paid"
	case s < 96:
		pay.Status = "failed"
	case s < 99:
		pay.Status = "refunded"
	default:
		pay.Status = "disputed"
	}
	return pay
}

// Instalment is instalment n (1..3) of a client's package.
type Instalment struct {
	Number      int
	AmountCents int64
	Currency    string
	Date        time.Time // a date
	Status      string
}

// InstalmentsPerClient is how many instalments each client package has.
const InstalmentsPerClient = 3

// InstalmentAt is instalment n (1-based) of client c.
func InstalmentAt(c Client, n int) Instalment {
	in := Instalment{Number: n, AmountCents: c.Monthly, Currency: c.Currency, Date: c.StartDate.AddDate(0, 0, 30*n), Status: "open"}
	switch {
	case n == 1:
		in.Status = "paid"
	case c.Status == "cancelled":
		in.Status = "closed"
	}
	return in
}

func pad7(n int) string { return fmt.Sprintf("%07d", n) }
