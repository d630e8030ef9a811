package tenant_test

import (
	"context"
	"errors"
	"testing"

	"crm/platform/tenant"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
)

type row struct {
	bun.BaseModel `bun:"table:things,alias:t"`
	ID            int64
	AccountID     int64
}

func TestScopeFailsClosedWithoutAccount(t *testing.T) {
	db := bun.NewDB(nil, sqlitedialect.New())
	q := db.NewSelect().Model((*row)(nil))
	if _, err := tenant.Scope(context.Background(), q); !errors.Is(err, tenant.ErrNoAccount) {
		t.Fatalf("Scope without account: err = %v, want ErrNoAccount", err)
	}
}

func TestScopeAddsAccount(t *testing.T) {
	db := bun.NewDB(nil, sqlitedialect.New())
	ctx := tenant.WithAccount(context.Background(), 42)
	q, err := tenant.Scope(ctx, db.NewSelect().Model((*row)(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.String(), `SELECT "t"."id", "t"."account_id" FROM "things" AS "t" WHERE ("t".account_id = 42)`; got != want {
		t.Fatalf("query = %s\nwant %s", got, want)
	}
	d, err := tenant.Scope(ctx, db.NewDelete().Model((*row)(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != `DELETE FROM "things" AS "t" WHERE ("t".account_id = 42)` {
		t.Fatalf("delete = %s", got)
	}
}
