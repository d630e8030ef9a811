package identity

import (
	"context"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"crm/platform/db"
	"crm/platform/errs"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/uptrace/bun"
)

// Failed-login limits of the contract: the 11th failure for one email within
// 15 minutes, and the 101st from one address, are refused with 429 until the
// window passes, the right password included.
const (
	throttleWindow   = 15 * time.Minute
	maxEmailFailures = 10
	maxIPFailures    = 100
)

type loginFailure struct {
	bun.BaseModel `bun:"table:login_failures,alias:lf"`
	ID            int64     `bun:",pk,autoincrement"`
	Key           string    `bun:",notnull"`
	At            time.Time `bun:",notnull"`
}

// LoginRefusals counts logins refused with 429 and LoginFailures refused
// credentials, for /metrics.
var LoginRefusals, LoginFailures atomic.Int64

// The two counters are process-wide, so they are exported to the default
// Prometheus registry, which GET /metrics serves with the app's own.
func init() {
	promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "crm_login_failures_total",
		Help: "Logins refused for wrong credentials (unknown email, wrong password, inactive employee).",
	}, func() float64 { return float64(LoginFailures.Load()) })
	promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "crm_login_lockouts_total",
		Help: "Logins refused with 429 because an email or an address had too many recent failures.",
	}, func() float64 { return float64(LoginRefusals.Load()) })
}

// reserve counts this attempt as a failure before the password is checked,
// so concurrent attempts are counted exactly: under a lock per key (an
// advisory lock on PostgreSQL, the write lock on SQLite), it refuses when the
// window is full and otherwise records the attempt. A successful login
// releases its reservation.
func reserve(ctx context.Context, d *bun.DB, email, ip string, now time.Time) ([]int64, error) {
	keys := []struct {
		key string
		max int
	}{{"email:" + email, maxEmailFailures}, {"ip:" + ip, maxIPFailures}}
	var ids []int64
	err := db.InTx(ctx, d, func(tx bun.Tx) error {
		since := now.Add(-throttleWindow)
		for _, k := range keys {
			if err := db.LockKey(ctx, tx, k.key); err != nil {
				return err
			}
			if _, err := tx.NewDelete().Model((*loginFailure)(nil)).Where("key = ?", k.key).Where("at <= ?", since).Exec(ctx); err != nil {
				return err
			}
			var oldest []time.Time
			if err := tx.NewSelect().Model((*loginFailure)(nil)).Column("at").Where("key = ?", k.key).Where("at > ?", since).
				Order("at ASC").Limit(int64(k.max)).Scan(ctx, &oldest); err != nil {
				return err
			}
			if len(oldest) >= k.max {
				LoginRefusals.Add(1)
				wait := int(math.Ceil(oldest[0].Add(throttleWindow).Sub(now).Seconds()))
				if wait < 1 {
					wait = 1
				}
				return &errs.Error{Status: http.StatusTooManyRequests, Detail: "Too many failed login attempts. Try again later.", RetryAfter: wait}
			}
		}
		for _, k := range keys {
			f := &loginFailure{Key: k.key, At: now}
			if _, err := tx.NewInsert().Model(f).Returning("id").Exec(ctx); err != nil {
				return err
			}
			ids = append(ids, f.ID)
		}
		return nil
	})
	return ids, err
}

// release forgets the reservation of a login that succeeded.
func release(ctx context.Context, d bun.IDB, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := d.NewDelete().Model((*loginFailure)(nil)).Where("id IN (?)", bun.In(ids)).Exec(ctx)
	return err
}
