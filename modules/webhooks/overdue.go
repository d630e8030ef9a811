package webhooks

import (
	"context"
	"time"

	"crm/modules/billing"
	"crm/platform/db"
	"crm/platform/httpx"
	"crm/platform/journal"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// overdueScanner announces open instalments past their schedule date: the
// journal entry "overdue" (instalment.overdue), once per instalment.
type overdueScanner struct {
	db *bun.DB
	// owner reads every account's instalments (the scan alone).
	owner   db.Owner
	journal *journal.Journal
}

func newOverdueScanner(d *bun.DB, o db.Owner, j *journal.Journal) *overdueScanner {
	return &overdueScanner{db: d, owner: o, journal: j}
}

const overdueBatch = 200

// Scan announces each open instalment whose schedule date is before the
// day of at (UTC) and that was not announced yet. It returns how many it
// announced. This is deliberate cross-account work by the system: it reads
// every account's instalments as the database owner, then records each in
// its own account, under row-level security.
func (s *overdueScanner) Scan(ctx context.Context, at time.Time) (int, error) {
	today, err := httpx.ParseDate(at.UTC().Format(time.DateOnly))
	if err != nil {
		return 0, err
	}
	total := 0
	afterID := int64(0)
	for {
		var due []billing.Instalment
		err := s.owner.NewSelect().Model(&due).
			Where("ins.status = ?", "open").
			Where("ins.schedule_date < ?", today).
			Where("ins.id > ?", afterID).
			Where("NOT EXISTS (SELECT 1 FROM webhook_overdue_instalments AS wo WHERE wo.account_id = ins.account_id AND wo.instalment_id = ins.id)").
			OrderExpr("ins.id ASC").
			Limit(overdueBatch).
			Scan(ctx)
		if err != nil {
			return total, err
		}
		for i := range due {
			ok, err := s.announce(ctx, &due[i], today)
			if err != nil {
				return total, err
			}
			if ok {
				total++
			}
			afterID = due[i].ID
		}
		if len(due) < overdueBatch {
			return total, nil
		}
	}
}

// announce marks one instalment overdue and journals it, in one
// transaction, unless it was paid meanwhile or another instance did it.
func (s *overdueScanner) announce(ctx context.Context, ins *billing.Instalment, today httpx.Date) (bool, error) {
	announced := false
	// Explicit: in the instalment's own account, for both guards.
	err := db.InAccount(ctx, s.db, ins.AccountID, func(ctx context.Context, tx bun.Tx) error {
		cur := new(billing.Instalment)
		q, err := tenant.Scope(ctx, tx.NewSelect().Model(cur).Where("ins.id = ?", ins.ID))
		if err != nil {
			return err
		}
		if db.DialectOf(tx) == db.Postgres {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			if db.IsNoRows(err) {
				return nil
			}
			return err
		}
		if cur.Status != "open" || !cur.ScheduleDate.Before(today) {
			return nil
		}
		res, err := tx.NewInsert().Model(&overdueNotice{AccountID: ins.AccountID, InstalmentID: ins.ID, NoticedAt: now()}).
			On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		announced = true
		return s.journal.Record(ctx, tx, journal.Entry{Action: actionOverdue, ObjectType: "instalment", ObjectID: cur.ID,
			AccountID: cur.AccountID, Object: cur})
	})
	return announced && err == nil, err
}
