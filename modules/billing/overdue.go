package billing

import (
	"context"

	"crm/platform/field"
	"crm/platform/journal"

	"github.com/uptrace/bun"
)

// What the overdue scan (the webhooks module) asks of billing.

const overdueBatch = 200

// EachOverdue calls fn with the account and id of each open instalment
// scheduled before day, in (account_id, id) order, except those skip selects a row for:
// skip builds a subquery from an instalment's account and id columns (the
// scan's record of what it already announced). This is deliberate
// cross-account work by the system: it reads every account's instalments as
// the database owner; fn does each one's work in its own account.
func (s *Service) EachOverdue(ctx context.Context, day field.Date, skip func(accountID, id bun.Ident) *bun.SelectQuery, fn func(accountID, id int64) error) error {
	// In the order of the instalments' key, (account_id, id): one account
	// after the other.
	var afterAccount, afterID int64
	for {
		var due []Instalment
		err := s.owner.NewSelect().Model(&due).Column("id", "account_id").
			Where("ins.status = ?", "open").
			Where("ins.schedule_date < ?", day).
			Where("(ins.account_id, ins.id) > (?, ?)", afterAccount, afterID).
			Where("NOT EXISTS (?)", skip(bun.Ident("ins.account_id"), bun.Ident("ins.id"))).
			OrderExpr("ins.account_id ASC, ins.id ASC").
			Limit(overdueBatch).
			Scan(ctx)
		if err != nil {
			return err
		}
		for _, ins := range due {
			if err := fn(ins.AccountID, ins.ID); err != nil {
				return err
			}
			afterAccount, afterID = ins.AccountID, ins.ID
		}
		if len(due) < overdueBatch {
			return nil
		}
	}
}

// MarkOverdue journals, in tx (in the instalment's account), that the
// instalment id is overdue on day ("overdue": instalment.overdue): when it
// is still open and scheduled before day (it may have been paid meanwhile),
// and claim, the caller's once-per-instalment record in the same
// transaction, reports it new. It tells whether it journaled.
func (s *Service) MarkOverdue(ctx context.Context, tx bun.IDB, id int64, day field.Date, claim func() (bool, error)) (bool, error) {
	cur := new(Instalment)
	found, err := find(ctx, tx, cur, "ins.id", id, true)
	if err != nil || !found || cur.Status != "open" || !cur.ScheduleDate.Before(day) {
		return false, err
	}
	if fresh, err := claim(); err != nil || !fresh {
		return false, err
	}
	return true, s.journal.Record(ctx, tx, journal.Entry{Action: journal.Overdue, ObjectType: journal.Instalment, ObjectID: cur.ID,
		AccountID: cur.AccountID, Object: cur})
}
