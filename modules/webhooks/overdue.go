package webhooks

import (
	"context"
	"time"

	"crm/platform/journal"

	"github.com/uptrace/bun"
)

// overdueScanner announces open instalments past their schedule date.
type overdueScanner struct {
	db      *bun.DB
	journal *journal.Journal
}

func newOverdueScanner(d *bun.DB, j *journal.Journal) *overdueScanner {
	return &overdueScanner{db: d, journal: j}
}

// Scan records instalment.overdue once for each open instalment whose
// schedule date is before today (UTC). It returns how many it announced.
func (s *overdueScanner) Scan(ctx context.Context, at time.Time) (int, error) {
	return 0, nil
}
