package accounts

import (
	"time"

	"github.com/uptrace/bun"
)

// Account is a tenant: every other row belongs to exactly one.
type Account struct {
	bun.BaseModel `bun:"table:accounts,alias:a"`

	ID        int64     `bun:",pk,autoincrement" json:"id"`
	Name      string    `bun:",notnull" json:"name" example:"Acme Coaching"`
	CreatedAt time.Time `bun:",notnull" json:"created_at"`
	UpdatedAt time.Time `bun:",notnull" json:"updated_at"`
}
