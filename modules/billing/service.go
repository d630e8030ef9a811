// Package billing is what clients pay: payments (financial records, never
// deleted), instalments (the schedule of what is due) and the Stripe
// customers that link a client to Stripe. Every row belongs to a client, and
// is read by whoever may read that client.
package billing

import (
	"context"
	"net/http"
	"sort"
	"time"

	"crm/platform/access"
	"crm/platform/authz"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/journal"
	"crm/platform/money"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// ClientPackages is what billing needs of the catalog module; cmd/crm binds
// the catalog service to it.
type ClientPackages interface {
	// ClientOf returns the client of a client package of the caller's
	// account, or 0 when there is no such client package.
	ClientOf(ctx context.Context, idb bun.IDB, id int64) (int64, error)
}

// Service holds the rules about payments, instalments and Stripe customers.
type Service struct {
	db *bun.DB
	// owner reads every account's instalments, for the overdue scan alone.
	owner    db.Owner
	authz    *authz.Authorizer
	clients  access.Clients
	packages ClientPackages
	journal  *journal.Journal
}

// NewService builds the service.
func NewService(d *bun.DB, o db.Owner, a *authz.Authorizer, c access.Clients, p ClientPackages, j *journal.Journal) *Service {
	return &Service{db: d, owner: o, authz: a, clients: c, packages: p, journal: j}
}

// aliases are the billing tables' aliases, by policy object.
var aliases = map[string]string{"payments": "pay", "instalments": "ins", "stripe_customers": "sc"}

// visible narrows q, a query of object's table, by the scope rule: a
// billing row is assigned to the caller when they can read its client.
func (s *Service) visible(ctx context.Context, q *bun.SelectQuery, object string) (*bun.SelectQuery, error) {
	return authz.Visible(ctx, s.authz, object, q, authz.OfClients(ctx, s.clients, aliases[object]+".client_id"))
}

// checkClient adds a 400 on name when id is not a client the caller can
// read.
func (s *Service) checkClient(ctx context.Context, idb bun.IDB, v *errs.Validation, name string, id int64) error {
	return field.Ref(v, name, id, func(id int64) (bool, error) { return authz.ClientReadable(ctx, s.clients, idb, id) })
}

// billingRow is a billing model: a payment, an instalment or a Stripe
// customer (model.go).
type billingRow interface {
	// client is the client the row belongs to.
	client() int64
	// fields are its wire fields and values, for the journal's diffs.
	fields() map[string]any
	// created sets its creation (and last update) time.
	created(t time.Time)
	// key is its id.
	key() int64
}

// load reads into model the row id of object by the scope rule: 404 when the
// caller cannot read it; for any action but read, 403 when they may not do
// action on it, and on PostgreSQL the row is locked until the end of the
// transaction.
func (s *Service) load(ctx context.Context, idb bun.IDB, model billingRow, object string, id int64, action string) error {
	q, err := s.visible(ctx, idb.NewSelect().Model(model).Where("?TableAlias.id = ?", id), object)
	if err != nil {
		return err
	}
	if err := db.One(ctx, q, action != "read"); err != nil {
		return err
	}
	if action == "read" {
		return nil
	}
	t, err := authz.ClientTie(ctx, s.clients, idb, model.client())
	if err != nil {
		return err
	}
	return s.authz.Allow(ctx, object, action, t)
}

// update writes cols of model (already scoped by its primary key) in the
// caller's account.
func update(ctx context.Context, tx bun.IDB, model any, cols ...string) error {
	q, err := tenant.Scope(ctx, tx.NewUpdate().Model(model).Column(cols...).WherePK())
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx)
	return err
}

// create makes a row of the caller's account: fresh returns it with its
// defaults, write validates and inserts it in one transaction. On an error
// the row is nil.
func create[T billingRow](ctx context.Context, d *bun.DB, fresh func(accountID int64) T, write func(tx bun.Tx, r T) error) (T, error) {
	var none T
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return none, err
	}
	r := fresh(accountID)
	if err := db.InTx(ctx, d, func(tx bun.Tx) error { return write(tx, r) }); err != nil {
		return none, err
	}
	return r, nil
}

// insert writes r, new and validated, and journals its creation as
// objectType; taken is the answer to a duplicate of one of its keys.
func (s *Service) insert(ctx context.Context, tx bun.IDB, r billingRow, objectType journal.ObjectType, taken *errs.Error) error {
	r.created(clock.Now())
	if _, err := tx.NewInsert().Model(r).Returning("id").Exec(ctx); err != nil {
		return writeError(err, taken)
	}
	return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Create, ObjectType: objectType, ObjectID: r.key(),
		Changes: journal.Changes(nil, r.fields()), Object: r})
}

// refuseTaken returns taken when q, on a billing table, selects a row of
// the caller's account.
func refuseTaken(ctx context.Context, q *bun.SelectQuery, taken *errs.Error) error {
	q, err := tenant.Scope(ctx, q)
	if err != nil {
		return err
	}
	if exists, err := q.Exists(ctx); err != nil {
		return err
	} else if exists {
		return taken
	}
	return nil
}

// writeError maps a constraint error that the checks before a write should
// have prevented (a row deleted or written meanwhile by another request).
func writeError(err error, unique *errs.Error) error {
	switch db.Classify(err) {
	case db.KindForeignKey:
		return errs.Wrap(http.StatusBadRequest, "The client or the client package does not exist.", err)
	case db.KindUnique:
		if unique != nil {
			return unique
		}
	}
	return err
}

// ---------------------------------------------------------------- payments

// PaymentInput is a payment's fields as a request sends them: absent, null
// or a value. On PATCH only status may change.
type PaymentInput struct {
	Client                field.Nullable[int64]        `json:"client,omitempty" doc:"Required: a client of the account the caller may read."`
	Amount                field.Nullable[money.Amount] `json:"amount,omitempty" doc:"Required."`
	Currency              field.Nullable[string]       `json:"currency,omitempty" doc:"Required: an ISO 4217 code (any case; stored in upper case)."`
	Status                field.Nullable[string]       `json:"status,omitempty" doc:"paid (the default), failed, refunded or disputed."`
	PaymentDate           field.Nullable[field.Date]   `json:"payment_date,omitempty" doc:"YYYY-MM-DD; today (UTC) when absent."`
	StripePaymentIntentID field.Nullable[string]       `json:"stripe_payment_intent_id,omitempty" doc:"Or null (the default); at most 255 characters without spaces; unique in the account."`
}

// PaymentFilter holds the list (and statistics) filters.
type PaymentFilter struct {
	Client   int64
	Status   string
	Currency string
}

var paymentOrdering = page.Ordering{
	Fields: map[string]string{
		"id": "pay.id", "client": "pay.client_id", "amount": "pay.amount_cents", "currency": "pay.currency",
		"status": "pay.status", "payment_date": "pay.payment_date", "created_at": "pay.created_at", "updated_at": "pay.updated_at",
	},
	Default:  "-payment_date",
	TieBreak: "pay.id",
}

// apply validates in and writes it over p; full (POST) requires the
// required fields.
func (in PaymentInput) apply(v *errs.Validation, p *Payment, full bool) {
	if id, ok := in.Client.Need(v, "client", full); ok {
		p.ClientID = id
	}
	if a, ok := in.Amount.Need(v, "amount", full); ok {
		p.Amount = a
	}
	if c, ok := in.Currency.Need(v, "currency", full); ok {
		p.Currency = field.Currency(v, "currency", c)
	}
	if st, ok := in.Status.Need(v, "status", false); ok {
		p.Status = field.Choice(v, "status", st, PaymentStatuses)
	}
	if d, ok := in.PaymentDate.Need(v, "payment_date", false); ok {
		p.PaymentDate = d
	}
	if in.StripePaymentIntentID.Set {
		p.StripePaymentIntentID = nil
		if id := token(v, "stripe_payment_intent_id", in.StripePaymentIntentID.Value); id != "" {
			p.StripePaymentIntentID = &id
		}
	}
}

func (f PaymentFilter) apply(q *bun.SelectQuery) (*bun.SelectQuery, error) {
	q = page.Equal(page.Equal(q, "pay.client_id", f.Client), "pay.status", f.Status)
	if f.Currency != "" {
		c, ok := money.ParseCurrency(f.Currency)
		if !ok {
			return nil, errs.Invalid("currency", msgCurrency)
		}
		q = q.Where("pay.currency = ?", c)
	}
	return q, nil
}

func (s *Service) payments(ctx context.Context, f PaymentFilter) (*bun.SelectQuery, error) {
	q, err := s.visible(ctx, db.Use(ctx, s.db).NewSelect().Model((*Payment)(nil)), "payments")
	if err != nil {
		return nil, err
	}
	return f.apply(q)
}

// ListPayments returns a page of the payments the caller can read that
// match f.
func (s *Service) ListPayments(ctx context.Context, f PaymentFilter, r page.Request) (page.Result[Payment], error) {
	q, err := s.payments(ctx, f)
	if err != nil {
		return page.Result[Payment]{}, err
	}
	return page.List[Payment](ctx, q, r, paymentOrdering)
}

// paymentTotal is one row of payment_totals (migrations/billing): the count
// and sum of an account's payments of one currency and status, spread over
// slot rows on PostgreSQL (a total is the sum of its slots). Triggers keep
// it in the transaction of every write to payments.
type paymentTotal struct {
	bun.BaseModel `bun:"table:payment_totals,alias:pt"`
}

// PaymentStatistics counts and sums (exactly, in cents) the payments the
// caller can read that match f, overall and per currency: from the totals
// when the caller reads every payment and f filters by status or currency
// at most, else by the real query.
func (s *Service) PaymentStatistics(ctx context.Context, f PaymentFilter) (*Statistics, error) {
	q, err := s.payments(ctx, f)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Currency string       `bun:"currency"`
		Status   string       `bun:"status"`
		N        int          `bun:"n"`
		Total    money.Amount `bun:"total"`
	}
	if s.authz.ScopeFor(ctx, "payments", "read") == authz.All && f.Client == 0 {
		q, err = tenant.Scope(ctx, db.Use(ctx, s.db).NewSelect().Model((*paymentTotal)(nil)).
			ColumnExpr("pt.currency AS currency, pt.status AS status, CAST(sum(pt.n) AS BIGINT) AS n, sum(pt.amount_cents) AS total").
			GroupExpr("pt.currency, pt.status").Having("sum(pt.n) <> 0"))
		if err != nil {
			return nil, err
		}
		if f.Status != "" {
			q = q.Where("pt.status = ?", f.Status)
		}
		if f.Currency != "" {
			c, _ := money.ParseCurrency(f.Currency) // checked by s.payments
			q = q.Where("pt.currency = ?", c)
		}
	} else {
		q = q.ColumnExpr("pay.currency AS currency, pay.status AS status, count(*) AS n, COALESCE(SUM(pay.amount_cents), 0) AS total").
			GroupExpr("pay.currency, pay.status")
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, err
	}
	st := &Statistics{TotalsByCurrency: []CurrencyTotals{}}
	byCurrency := map[string]*CurrencyTotals{}
	for _, r := range rows {
		c := byCurrency[r.Currency]
		if c == nil {
			c = &CurrencyTotals{Currency: r.Currency}
			byCurrency[r.Currency] = c
		}
		c.Count += r.N
		c.TotalAmount += r.Total
		st.TotalPayments += r.N
		st.TotalAmount += r.Total
		switch r.Status {
		case "paid":
			c.Paid += r.N
			c.PaidAmount += r.Total
			st.Paid += r.N
		case "failed":
			c.Failed += r.N
			st.Failed += r.N
		case "refunded":
			c.Refunded += r.N
			st.Refunded += r.N
		case "disputed":
			c.Disputed += r.N
			st.Disputed += r.N
		}
	}
	for _, c := range byCurrency {
		st.TotalsByCurrency = append(st.TotalsByCurrency, *c)
	}
	sort.Slice(st.TotalsByCurrency, func(i, j int) bool { return st.TotalsByCurrency[i].Currency < st.TotalsByCurrency[j].Currency })
	return st, nil
}

// GetPayment returns one payment the caller can read.
func (s *Service) GetPayment(ctx context.Context, id int64) (*Payment, error) {
	p := new(Payment)
	if err := s.load(ctx, db.Use(ctx, s.db), p, "payments", id, "read"); err != nil {
		return nil, err
	}
	return p, nil
}

func errIntentTaken() *errs.Error {
	const msg = "A payment with this stripe_payment_intent_id already exists."
	return &errs.Error{Status: http.StatusConflict, Detail: msg, Fields: map[string][]string{"stripe_payment_intent_id": {msg}}}
}

// CreatePayment records a payment of a client.
func (s *Service) CreatePayment(ctx context.Context, in PaymentInput) (*Payment, error) {
	return create(ctx, s.db, func(accountID int64) *Payment {
		return &Payment{AccountID: accountID, Status: "paid", PaymentDate: field.Today()}
	}, func(tx bun.Tx, p *Payment) error {
		var v errs.Validation
		in.apply(&v, p, true)
		if err := s.checkClient(ctx, tx, &v, "client", p.ClientID); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		return s.insertPayment(ctx, tx, p)
	})
}

// insertPayment writes a new, validated payment, unless its
// stripe_payment_intent_id is taken, and journals it.
func (s *Service) insertPayment(ctx context.Context, tx bun.IDB, p *Payment) error {
	if p.StripePaymentIntentID != nil {
		if err := refuseTaken(ctx, tx.NewSelect().Model((*Payment)(nil)).
			Where("pay.stripe_payment_intent_id = ?", *p.StripePaymentIntentID), errIntentTaken()); err != nil {
			return err
		}
	}
	return s.insert(ctx, tx, p, journal.Payment, errIntentTaken())
}

// UpdatePayment changes a payment's status. A payment is a financial
// record: sending another value for any other field is 403 and changes
// nothing (sending the current value back is fine).
func (s *Service) UpdatePayment(ctx context.Context, id int64, in PaymentInput) (*Payment, error) {
	var out *Payment
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		old := new(Payment)
		if err := s.load(ctx, tx, old, "payments", id, "update"); err != nil {
			return err
		}
		p := *old
		var v errs.Validation
		in.apply(&v, &p, false)
		if err := v.Err(); err != nil {
			return err
		}
		diff := journal.Changes(old.fields(), p.fields())
		for f := range diff {
			if f != "status" {
				return errs.Forbidden("A payment is a financial record: only its status can change (" + f + " cannot).")
			}
		}
		if len(diff) == 0 {
			out = old
			return nil
		}
		out = &p
		return s.writePaymentStatus(ctx, tx, &p, diff)
	})
	return out, err
}

// writePaymentStatus writes p's new status (diff: the change) and journals
// it as a status_change.
func (s *Service) writePaymentStatus(ctx context.Context, tx bun.IDB, p *Payment, diff map[string]journal.Change) error {
	p.UpdatedAt = clock.Now()
	if err := update(ctx, tx, p, "status", "updated_at"); err != nil {
		return err
	}
	return s.journal.Record(ctx, tx, journal.Entry{Action: journal.StatusChange, ObjectType: journal.Payment, ObjectID: p.ID, Changes: diff, Object: p})
}

const msgCurrency = "Enter an ISO 4217 currency code (e.g. USD)."
