package page

import (
	"strings"

	"github.com/uptrace/bun"
)

// LikePattern escapes %, _ and \ so a search matches them literally, and
// wraps the term for a substring match (use with ESCAPE '\').
func LikePattern(term string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(term)) + "%"
}

// Equal keeps the rows whose column equals v; a zero v filters nothing (the
// filter was not asked).
func Equal[V comparable](q *bun.SelectQuery, column string, v V) *bun.SelectQuery {
	var zero V
	if v == zero {
		return q
	}
	return q.Where("? = ?", bun.Safe(column), v)
}
