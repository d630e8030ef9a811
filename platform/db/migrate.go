package db

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migrations is what a module contributes to the one migration timeline: a
// folder with a "postgres" and a "sqlite" subfolder of Bun SQL migrations
// (NAME.tx.up.sql). Names are timestamps, so the modules' files merge into one
// ordered timeline.
type Migrations struct {
	Module string
	FS     fs.FS
}

// Migrate applies every pending migration of sets, holding Bun's migration
// lock (waiting for another instance that holds it). A second run is a no-op.
func Migrate(ctx context.Context, db *bun.DB, sets []Migrations, log *slog.Logger) error {
	ms, err := collect(db, sets)
	if err != nil {
		return err
	}
	m := migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("migrate: init: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := m.Lock(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migrate: %w (if no other instance is migrating, run `crm migrate --unlock`)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer func() { _ = m.Unlock(context.WithoutCancel(ctx)) }()
	group, err := m.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := enableRLS(ctx, db); err != nil {
		return err
	}
	if log != nil && !group.IsZero() {
		log.Info("migrations applied", "group", group.ID, "migrations", group.Migrations.String())
	}
	return nil
}

// enableRLS puts row-level security on every tenant table, those of later
// migrations included (crm_enable_rls, migrations/rls: it only adds what is
// missing, so a run that finds everything in place changes nothing). Still
// under the migration lock, so instances starting together do not race.
func enableRLS(ctx context.Context, d *bun.DB) error {
	if DialectOf(d) != Postgres {
		return nil
	}
	if _, err := d.ExecContext(ctx, "SELECT crm_enable_rls()"); err != nil {
		return fmt.Errorf("migrate: row-level security: %w", err)
	}
	return nil
}

// Unlock removes a lock left behind by a migrator that died.
func Unlock(ctx context.Context, db *bun.DB, sets []Migrations) error {
	ms, err := collect(db, sets)
	if err != nil {
		return err
	}
	m := migrate.NewMigrator(db, ms)
	if err := m.Init(ctx); err != nil {
		return err
	}
	return m.Unlock(ctx)
}

func collect(db *bun.DB, sets []Migrations) (*migrate.Migrations, error) {
	sort.Slice(sets, func(i, j int) bool { return sets[i].Module < sets[j].Module })
	ms := migrate.NewMigrations()
	dir := string(DialectOf(db))
	for _, s := range sets {
		sub, err := fs.Sub(s.FS, dir)
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", s.Module, err)
		}
		if err := ms.Discover(sub); err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", s.Module, err)
		}
	}
	for _, m := range ms.Sorted() {
		if m.Up == nil {
			return nil, fmt.Errorf("migrate: %s has no up migration for %s", m.Name, dir)
		}
	}
	return ms, nil
}
