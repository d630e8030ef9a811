package billing

import (
	"context"
	"net/http"

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

// InstalmentInput is an instalment's writable fields as a request sends
// them: absent, null or a value.
type InstalmentInput struct {
	Client           field.Nullable[int64]        `json:"client,omitempty" doc:"Required on POST and PUT: a client of the account the caller may read."`
	ClientPackage    field.Nullable[int64]        `json:"client_package,omitempty" doc:"A client package of the same client, or null (the default)."`
	Amount           field.Nullable[money.Amount] `json:"amount,omitempty" doc:"Required on POST and PUT."`
	Currency         field.Nullable[string]       `json:"currency,omitempty" doc:"Required on POST and PUT: an ISO 4217 code (any case; stored in upper case)."`
	ScheduleDate     field.Nullable[field.Date]   `json:"schedule_date,omitempty" doc:"Required on POST and PUT (YYYY-MM-DD)."`
	Status           field.Nullable[string]       `json:"status,omitempty" doc:"open (the default), paid, failed or closed."`
	InstalmentNumber field.Nullable[int]          `json:"instalment_number,omitempty" doc:"Required on POST and PUT: 1 to 10000, unique within the client package."`
}

// InstalmentFilter holds the list filters.
type InstalmentFilter struct {
	Client        int64
	ClientPackage int64
	Status        string
}

var instalmentOrdering = page.Ordering{
	Fields: map[string]string{
		"id": "ins.id", "client": "ins.client_id", "client_package": "ins.client_package_id", "amount": "ins.amount_cents",
		"currency": "ins.currency", "schedule_date": "ins.schedule_date", "status": "ins.status",
		"instalment_number": "ins.instalment_number", "created_at": "ins.created_at", "updated_at": "ins.updated_at",
	},
	Default:  "schedule_date",
	TieBreak: "ins.id",
}

// apply validates in and writes it over i; old is the row before (nil on
// create). References are checked when they change.
func (s *Service) applyInstalment(ctx context.Context, idb bun.IDB, i, old *Instalment, in InstalmentInput, full bool) error {
	var v errs.Validation
	if id, ok := in.Client.Need(&v, "client", full); ok {
		i.ClientID = id
	}
	if in.ClientPackage.Set {
		i.ClientPackageID = in.ClientPackage.Ptr()
	}
	if a, ok := in.Amount.Need(&v, "amount", full); ok {
		i.Amount = a
	}
	if c, ok := in.Currency.Need(&v, "currency", full); ok {
		i.Currency = field.Currency(&v, "currency", c)
	}
	if d, ok := in.ScheduleDate.Need(&v, "schedule_date", full); ok {
		i.ScheduleDate = d
	}
	if st, ok := in.Status.Need(&v, "status", false); ok {
		i.Status = field.Choice(&v, "status", st, InstalmentStatuses)
	}
	if n, ok := in.InstalmentNumber.Need(&v, "instalment_number", full); ok {
		if n < 1 || n > 10000 {
			v.Add("instalment_number", "Ensure this value is between 1 and 10000.")
		}
		i.InstalmentNumber = n
	}
	clientChanged := old == nil || i.ClientID != old.ClientID
	if clientChanged {
		if err := s.checkClient(ctx, idb, &v, "client", i.ClientID); err != nil {
			return err
		}
	}
	if i.ClientPackageID != nil && !v.Has("client") && !v.Has("client_package") &&
		(clientChanged || old.ClientPackageID == nil || *old.ClientPackageID != *i.ClientPackageID) {
		owner, err := s.packages.ClientOf(ctx, idb, *i.ClientPackageID)
		if err != nil {
			return err
		}
		switch {
		case owner == 0:
			v.Add("client_package", field.NoSuchRef(*i.ClientPackageID))
		case owner != i.ClientID:
			v.Add("client_package", "This client package is not one of the client's.")
		}
	}
	return v.Err()
}

func errNumberTaken() *errs.Error {
	const msg = "This client package already has an instalment with this number."
	return &errs.Error{Status: http.StatusConflict, Detail: msg, Fields: map[string][]string{"instalment_number": {msg}}}
}

// checkNumber refuses an instalment number another instalment of the client
// package already has.
func checkNumber(ctx context.Context, idb bun.IDB, i *Instalment) error {
	if i.ClientPackageID == nil {
		return nil
	}
	return refuseTaken(ctx, idb.NewSelect().Model((*Instalment)(nil)).
		Where("ins.client_package_id = ?", *i.ClientPackageID).Where("ins.instalment_number = ?", i.InstalmentNumber).Where("ins.id <> ?", i.ID),
		errNumberTaken())
}

// ListInstalments returns a page of the instalments the caller can read
// that match f.
func (s *Service) ListInstalments(ctx context.Context, f InstalmentFilter, r page.Request) (page.Result[Instalment], error) {
	q, err := s.visible(ctx, db.Use(ctx, s.db).NewSelect().Model((*Instalment)(nil)), "instalments")
	if err != nil {
		return page.Result[Instalment]{}, err
	}
	q = page.Equal(page.Equal(q, "ins.client_id", f.Client), "ins.client_package_id", f.ClientPackage)
	return page.List[Instalment](ctx, page.Equal(q, "ins.status", f.Status), r, instalmentOrdering)
}

// GetInstalment returns one instalment the caller can read.
func (s *Service) GetInstalment(ctx context.Context, id int64) (*Instalment, error) {
	i := new(Instalment)
	if err := s.load(ctx, db.Use(ctx, s.db), i, "instalments", id, "read"); err != nil {
		return nil, err
	}
	return i, nil
}

// CreateInstalment schedules an instalment of a client.
func (s *Service) CreateInstalment(ctx context.Context, in InstalmentInput) (*Instalment, error) {
	return create(ctx, s.db, func(accountID int64) *Instalment {
		return &Instalment{AccountID: accountID, Status: "open"}
	}, func(tx bun.Tx, i *Instalment) error {
		if err := s.applyInstalment(ctx, tx, i, nil, in, true); err != nil {
			return err
		}
		if err := checkNumber(ctx, tx, i); err != nil {
			return err
		}
		return s.insert(ctx, tx, i, journal.Instalment, errNumberTaken())
	})
}

// UpdateInstalment changes an instalment the caller can read: replace (PUT)
// sets every field as a create would; otherwise (PATCH) only the fields
// sent. A change of status is journaled as a status_change.
func (s *Service) UpdateInstalment(ctx context.Context, id int64, in InstalmentInput, replace bool) (*Instalment, error) {
	var out *Instalment
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error {
		old := new(Instalment)
		if err := s.load(ctx, tx, old, "instalments", id, "update"); err != nil {
			return err
		}
		i := *old
		if replace {
			i = Instalment{ID: old.ID, AccountID: old.AccountID, Status: "open", CreatedAt: old.CreatedAt}
		}
		if err := s.applyInstalment(ctx, tx, &i, old, in, replace); err != nil {
			return err
		}
		diff := journal.Changes(old.fields(), i.fields())
		if len(diff) == 0 {
			out = old
			return nil
		}
		if err := checkNumber(ctx, tx, &i); err != nil {
			return err
		}
		out = &i
		return s.writeInstalment(ctx, tx, &i, diff, "client_id", "client_package_id", "amount_cents", "currency", "schedule_date",
			"status", "instalment_number")
	})
	return out, err
}

// writeInstalment writes the columns cols of i (diff: the change) and
// journals it: a status_change when its status changed, else an update.
func (s *Service) writeInstalment(ctx context.Context, tx bun.IDB, i *Instalment, diff map[string]journal.Change, cols ...string) error {
	i.UpdatedAt = clock.Now()
	if err := update(ctx, tx, i, append(cols, "updated_at")...); err != nil {
		return writeError(err, errNumberTaken())
	}
	action := journal.Update
	if _, ok := diff["status"]; ok {
		action = journal.StatusChange
	}
	return s.journal.Record(ctx, tx, journal.Entry{Action: action, ObjectType: journal.Instalment, ObjectID: i.ID, Changes: diff, Object: i})
}

// DeleteInstalment removes an instalment the caller can read.
func (s *Service) DeleteInstalment(ctx context.Context, id int64) error {
	return db.InTx(ctx, s.db, func(tx bun.Tx) error {
		i := new(Instalment)
		if err := s.load(ctx, tx, i, "instalments", id, "delete"); err != nil {
			return err
		}
		q, err := tenant.Scope(ctx, tx.NewDelete().Model((*Instalment)(nil)).Where("ins.id = ?", i.ID))
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		return s.journal.Record(ctx, tx, journal.Entry{Action: journal.Delete, ObjectType: journal.Instalment, ObjectID: i.ID, Changes: journal.Changes(i.fields(), nil)})
	})
}
