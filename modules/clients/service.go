// Package clients is the CRM's core records: the clients of an account, who
// may see and change which of them (from the policy files), their list,
// search and statistics.
package clients

import (
	"context"
	"net/http"
	"strings"

	"crm/platform/authz"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/journal"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// Employees is what clients asks of the identity module, which owns the
// employees; cmd/crm binds the identity service.
type Employees interface {
	// EmployeesOf returns which of ids are employees of the caller's
	// account (a client's coach, closer and setter), read with idb.
	EmployeesOf(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]bool, error)
}

// Service holds the rules about clients.
type Service struct {
	db        *bun.DB
	authz     *authz.Authorizer
	journal   *journal.Journal
	employees Employees
}

// NewService builds the service.
func NewService(d *bun.DB, a *authz.Authorizer, j *journal.Journal, e Employees) *Service {
	return &Service{db: d, authz: a, journal: j, employees: e}
}

// readScope is how far the caller reads clients, from the policy in force.
func (s *Service) readScope(ctx context.Context) authz.Scope {
	return s.authz.ScopeFor(ctx, "clients", "read")
}

// ---------------------------------------------------------------- for other modules

// Readable returns a subquery selecting the ids of the clients the caller may
// read (SELECT id FROM clients WHERE account_id = ? AND (assigned...)), or nil
// when the caller reads every client of the account.
func (s *Service) Readable(ctx context.Context) (*bun.SelectQuery, error) {
	scope := s.readScope(ctx)
	if scope == authz.All {
		if _, err := tenant.Account(ctx); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return authz.Narrow(ctx, db.Use(ctx, s.db).NewSelect().Model((*Client)(nil)).Column("c.id"), scope, conditions[*bun.SelectQuery](ctx))
}

// Exists reports whether id is a client of the caller's account (any scope),
// using idb (a transaction or the db).
func (s *Service) Exists(ctx context.Context, idb bun.IDB, id int64) (bool, error) {
	q, err := tenant.Scope(ctx, idb.NewSelect().Model((*Client)(nil)).Where("c.id = ?", id))
	if err != nil {
		return false, err
	}
	return q.Exists(ctx)
}

// ---------------------------------------------------------------- reads

// List returns a page of the clients the caller can read (mine: only those
// assigned to the caller) that match f.
func (s *Service) List(ctx context.Context, f Filter, mine bool, r page.Request) (page.Result[Client], error) {
	return listClients(ctx, db.Use(ctx, s.db), s.readScope(ctx), f, mine, r)
}

// Statistics counts by status the clients the caller can read that match
// f: from the counters when f filters by status at most, else by the real
// query.
func (s *Service) Statistics(ctx context.Context, f Filter) (*ClientStatistics, error) {
	scope := s.readScope(ctx)
	q, err := selectClients(ctx, db.Use(ctx, s.db), scope, f, false)
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	if employee, ok := counted(ctx, scope, f, false); ok {
		if n, err = countsOf(ctx, db.Use(ctx, s.db), employee); err != nil {
			return nil, err
		}
		if f.Status != "" {
			n = map[string]int{f.Status: n[f.Status]}
		}
	} else {
		var rows []struct {
			Status string `bun:"status"`
			N      int    `bun:"n"`
		}
		if err := q.ColumnExpr("c.status AS status, count(*) AS n").GroupExpr("c.status").Scan(ctx, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			n[r.Status] = r.N
		}
	}
	st := &ClientStatistics{Active: n["active"], Inactive: n["inactive"], Onboarding: n["onboarding"],
		Paused: n["paused"], Cancelled: n["cancelled"]}
	st.Total = st.Active + st.Inactive + st.Onboarding + st.Paused + st.Cancelled
	return st, nil
}

// Get returns one client the caller can read.
func (s *Service) Get(ctx context.Context, id int64) (*Client, error) {
	return s.load(ctx, db.Use(ctx, s.db), id, false)
}

// ---------------------------------------------------------------- writes

// ClientInput is a client's writable fields as a request sends them:
// absent, null or a value. Read-only fields (id, account, created_at,
// updated_at) are not here, so a body that sends them changes nothing.
type ClientInput struct {
	FirstName field.Nullable[string] `json:"first_name,omitempty" doc:"Required on POST and PUT; 1 to 150 characters."`
	LastName  field.Nullable[string] `json:"last_name,omitempty" doc:"Required on POST and PUT; 1 to 150 characters."`
	Email     field.Nullable[string] `json:"email,omitempty" doc:"Required on POST and PUT; unique in the account whatever its case; stored in lower case; at most 254 characters."`
	Phone     field.Nullable[string] `json:"phone,omitempty" doc:"At most 50 characters; null is the same as empty."`
	Status    field.Nullable[string] `json:"status,omitempty" doc:"active (default), inactive, onboarding, paused or cancelled."`
	Coach     field.Nullable[int64]  `json:"coach,omitempty" doc:"Employee id of the same account, or null."`
	Closer    field.Nullable[int64]  `json:"closer,omitempty" doc:"Employee id of the same account, or null."`
	Setter    field.Nullable[int64]  `json:"setter,omitempty" doc:"Employee id of the same account, or null."`
	Country   field.Nullable[string] `json:"country,omitempty" doc:"ISO 3166-1 alpha-2 code (US; any case, stored in upper case), or null."`
	Currency  field.Nullable[string] `json:"currency,omitempty" doc:"ISO 4217 code (USD; any case, stored in upper case), or null."`
	Notes     field.Nullable[string] `json:"notes,omitempty" doc:"At most 10,000 characters; null is the same as empty."`
}

// apply validates in and writes it over c. full (POST, PUT) requires the
// required fields; otherwise (PATCH) an absent field keeps its value. Every
// failing field is reported at once.
func (s *Service) apply(ctx context.Context, idb bun.IDB, c *Client, in ClientInput, full bool) error {
	var v errs.Validation
	if n, ok := in.FirstName.Need(&v, "first_name", full); ok {
		c.FirstName = field.Text(&v, "first_name", n, 1, maxName, false)
	}
	if n, ok := in.LastName.Need(&v, "last_name", full); ok {
		c.LastName = field.Text(&v, "last_name", n, 1, maxName, false)
	}
	if e, ok := in.Email.Need(&v, "email", full); ok {
		c.Email = field.Email(&v, "email", e, false)
	}
	if in.Phone.Set {
		c.Phone = field.Text(&v, "phone", in.Phone.Value, 0, maxPhone, false)
	}
	if in.Notes.Set {
		c.Notes = field.Text(&v, "notes", in.Notes.Value, 0, maxNotes, true)
	}
	if st, ok := in.Status.Need(&v, "status", false); ok {
		if validStatus(st) {
			c.Status = st
		} else {
			v.Add("status", `"`+st+`" is not a valid choice: active, inactive, onboarding, paused or cancelled.`)
		}
	}
	if in.Country.Set {
		c.Country = nil
		if p := in.Country.Ptr(); p != nil {
			if code := strings.ToUpper(strings.TrimSpace(*p)); validCountry(code) {
				c.Country = &code
			} else {
				v.Add("country", "Enter an ISO 3166-1 alpha-2 country code (e.g. US).")
			}
		}
	}
	if in.Currency.Set {
		c.Currency = nil
		if p := in.Currency.Ptr(); p != nil {
			if code := field.Currency(&v, "currency", *p); !v.Has("currency") {
				c.Currency = &code
			}
		}
	}
	if err := s.applyStaff(ctx, idb, &v, c, in); err != nil {
		return err
	}
	return v.Err()
}

// applyStaff writes the coach, closer and setter sent over c: employees of
// the caller's account. Another account's id is the same 400 as an id that
// does not exist.
func (s *Service) applyStaff(ctx context.Context, idb bun.IDB, v *errs.Validation, c *Client, in ClientInput) error {
	refs := []struct {
		name string
		in   field.Nullable[int64]
		dst  **int64
	}{{"coach", in.Coach, &c.CoachID}, {"closer", in.Closer, &c.CloserID}, {"setter", in.Setter, &c.SetterID}}
	var ids []int64
	for _, r := range refs {
		if r.in.Set {
			*r.dst = r.in.Ptr()
			if p := r.in.Ptr(); p != nil {
				ids = append(ids, *p)
			}
		}
	}
	found, err := s.employees.EmployeesOf(ctx, idb, ids)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if p := r.in.Ptr(); r.in.Set && p != nil && !found[*p] {
			v.Add(r.name, field.NoSuchRef(*p))
		}
	}
	return nil
}

func errEmailTaken() error {
	return &errs.Error{Status: http.StatusConflict, Detail: "A client with this email already exists.",
		Fields: map[string][]string{"email": {"A client with this email already exists."}}}
}

// writeError maps the constraint errors of a write: a unique violation is
// the email taken in the account (clients_account_email_key: there is no
// check before the write, which under row-level security could not use
// that index and read every client of the account); a foreign key
// violation, an employee deleted since the check (a race between two
// requests).
func writeError(err error) error {
	switch db.Classify(err) {
	case db.KindUnique:
		return errEmailTaken()
	case db.KindForeignKey:
		return errs.New(http.StatusBadRequest, "A coach, closer or setter does not exist.")
	}
	return err
}

// Create adds a client to the caller's account.
func (s *Service) Create(ctx context.Context, in ClientInput) (*Client, error) {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return nil, err
	}
	c := &Client{AccountID: accountID, Status: "active"}
	err = db.InTx(ctx, s.db, func(tx bun.Tx) error {
		if err := s.apply(ctx, tx, c, in, true); err != nil {
			return err
		}
		if err := s.authz.Allow(ctx, "clients", "create", tie(ctx, c)); err != nil {
			return err
		}
		c.CreatedAt = clock.Now()
		c.UpdatedAt = c.CreatedAt
		if _, err := tx.NewInsert().Model(c).Returning("id").Exec(ctx); err != nil {
			return writeError(err)
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Create, ObjectType: journal.Client, ObjectID: c.ID,
			Changes: journal.Changes(nil, c.fields()), Object: c})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Update changes a client the caller can read: replace (PUT) sets every
// field from in as a create would; otherwise (PATCH) only the fields sent.
func (s *Service) Update(ctx context.Context, id int64, in ClientInput, replace bool) (*Client, error) {
	var out *Client
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		old, err := s.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.authz.Allow(ctx, "clients", "update", tie(ctx, old)); err != nil {
			return err
		}
		c := *old
		if replace {
			c = Client{ID: old.ID, AccountID: old.AccountID, Status: "active", CreatedAt: old.CreatedAt}
		}
		if err := s.apply(ctx, tx, &c, in, replace); err != nil {
			return err
		}
		// An assigned scope writes only clients that stay assigned to the caller.
		if err := s.authz.Allow(ctx, "clients", "update", tie(ctx, &c)); err != nil {
			return err
		}
		diff := journal.Changes(old.fields(), c.fields())
		if len(diff) == 0 {
			out = old
			return nil
		}
		c.UpdatedAt = clock.Now()
		q, err := tenant.Scope(ctx, tx.NewUpdate().Model(&c).
			Column("first_name", "last_name", "email", "phone", "status", "coach_id", "closer_id", "setter_id",
				"country", "currency", "notes", "updated_at").
			WherePK())
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return writeError(err)
		}
		if err := s.journal.Record(ctx, tx, journal.Entry{Action: journal.Update, ObjectType: journal.Client, ObjectID: c.ID,
			Changes: diff, Object: &c}); err != nil {
			return err
		}
		if st, ok := diff["status"]; ok {
			if err := s.journal.Record(ctx, tx, journal.Entry{Action: journal.StatusChange, ObjectType: journal.Client, ObjectID: c.ID,
				Changes: map[string]journal.Change{"status": st}, Object: &c}); err != nil {
				return err
			}
		}
		out = &c
		return nil
	})
	return out, err
}

// Delete removes a client the caller can read. A client that billing rows
// (client packages, payments, installments, Stripe customers) still
// reference is a 409 and nothing is deleted.
func (s *Service) Delete(ctx context.Context, id int64) error {
	return db.InTx(ctx, s.db, func(tx bun.Tx) error {
		old, err := s.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.authz.Allow(ctx, "clients", "delete", tie(ctx, old)); err != nil {
			return err
		}
		q, err := tenant.Scope(ctx, tx.NewDelete().Model((*Client)(nil)).Where("c.id = ?", old.ID))
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			if db.Classify(err) == db.KindForeignKey {
				return errs.Wrap(http.StatusConflict, "Client has billing records (client packages, payments, installments or Stripe customers): it cannot be deleted.", err)
			}
			return err
		}
		// The client as it was, every field (nulls included), as old values.
		was := old.fields()
		was["account"], was["created_at"], was["updated_at"] = old.AccountID, old.CreatedAt, old.UpdatedAt
		gone := make(map[string]journal.Change, len(was))
		for k, v := range was {
			gone[k] = journal.Change{Old: v}
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Delete, ObjectType: journal.Client, ObjectID: old.ID, Changes: gone})
	})
}
