package webhooks

import (
	"context"
	"time"

	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/field"

	"github.com/uptrace/bun"
)

// Instalments is what the overdue scan asks of the billing module, which
// owns the instalments, their rules and their journal entries; cmd/crm
// binds the billing service.
type Instalments interface {
	// EachOverdue calls fn with each open instalment scheduled before day,
	// across accounts, except those skip selects a row for.
	EachOverdue(ctx context.Context, day field.Date, skip func(accountID, id bun.Ident) *bun.SelectQuery, fn func(accountID, id int64) error) error
	// MarkOverdue journals, in tx, that the instalment is overdue when it
	// still is and claim reports it new.
	MarkOverdue(ctx context.Context, tx bun.IDB, id int64, day field.Date, claim func() (bool, error)) (bool, error)
}

// overdueScanner announces open instalments past their schedule date: the
// journal entry "overdue" (instalment.overdue), once per instalment.
type overdueScanner struct {
	db *bun.DB
	// owner reads the notices of every account (the scan alone).
	owner       db.Owner
	instalments Instalments
}

func newOverdueScanner(d *bun.DB, o db.Owner, i Instalments) *overdueScanner {
	return &overdueScanner{db: d, owner: o, instalments: i}
}

// Scan announces each open instalment whose schedule date is before the
// day of at (UTC) and that was not announced yet. It returns how many it
// announced. Billing reads every account's instalments as the database
// owner; each is announced in its own account, under row-level security.
func (s *overdueScanner) Scan(ctx context.Context, at time.Time) (int, error) {
	today, err := field.ParseDate(at.UTC().Format(time.DateOnly))
	if err != nil {
		return 0, err
	}
	total := 0
	err = s.instalments.EachOverdue(ctx, today, s.noticeOf, func(accountID, id int64) error {
		ok, err := s.announce(ctx, accountID, id, today)
		if ok {
			total++
		}
		return err
	})
	return total, err
}

// noticeOf selects the notice of an instalment, given its account and id
// columns: an instalment announced already is skipped.
func (s *overdueScanner) noticeOf(accountID, id bun.Ident) *bun.SelectQuery {
	return s.owner.NewSelect().Model((*overdueNotice)(nil)).ColumnExpr("1").
		Where("wo.account_id = ?", accountID).Where("wo.instalment_id = ?", id)
}

// announce has billing mark one instalment overdue and journal it, with its
// notice, in one transaction, unless it was paid meanwhile or another
// instance did it.
func (s *overdueScanner) announce(ctx context.Context, accountID, id int64, today field.Date) (bool, error) {
	announced := false
	// Explicit: in the instalment's own account, for both guards.
	err := db.InAccount(ctx, s.db, accountID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		announced, err = s.instalments.MarkOverdue(ctx, tx, id, today, func() (bool, error) {
			res, err := tx.NewInsert().Model(&overdueNotice{AccountID: accountID, InstalmentID: id, NoticedAt: clock.Now()}).
				On("CONFLICT DO NOTHING").Exec(ctx)
			if err != nil {
				return false, err
			}
			n, _ := res.RowsAffected()
			return n > 0, nil
		})
		return err
	})
	return announced && err == nil, err
}
