package db

import (
	"context"

	"github.com/uptrace/bun"
)

// LockKey takes, on PostgreSQL, an advisory lock on key held until tx ends,
// so transactions about the same key run one at a time. SQLite's write lock
// already runs writers one at a time: nothing to take there.
func LockKey(ctx context.Context, tx bun.IDB, key string) error {
	if DialectOf(tx) != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", key)
	return err
}

// Notify sends payload on channel when tx commits (PostgreSQL's NOTIFY, to
// the other instances on the database). SQLite has no other instance to
// tell: nothing is sent there.
func Notify(ctx context.Context, tx bun.IDB, channel, payload string) error {
	if DialectOf(tx) != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", channel, payload)
	return err
}

// SkipLocked makes q lock the rows it selects and pass over those another
// transaction holds (PostgreSQL); SQLite's single writer holds none.
func SkipLocked(q *bun.SelectQuery) *bun.SelectQuery {
	if DialectOf(q.DB()) != Postgres {
		return q
	}
	return q.For("UPDATE SKIP LOCKED")
}

// Listens tells whether d's database carries Notify's announcements to the
// other instances' sessions (PostgreSQL's LISTEN); SQLite has no other
// instance, so a cache kept fresh by them has nothing to follow there.
func Listens(d bun.IDB) bool { return DialectOf(d) == Postgres }
