package page

import (
	"slices"
	"strconv"
	"strings"

	"crm/platform/errs"
)

// Ordering is the whitelist of one list: API field name to SQL column, plus
// the default order.
type Ordering struct {
	Fields  map[string]string
	Default string // e.g. "-created_at"
	// TieBreak is appended so pages are stable (e.g. "?TableAlias.id").
	TieBreak string
}

// SQL turns "?ordering=a,-b" into an ORDER BY expression, refusing a field
// the whitelist does not hold.
func (o Ordering) SQL(param string) (string, error) {
	if strings.TrimSpace(param) == "" {
		param = o.Default
	}
	var parts []string
	desc := false
	for _, f := range strings.Split(param, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		desc = strings.HasPrefix(f, "-")
		col, ok := o.Fields[strings.TrimPrefix(f, "-")]
		if !ok {
			allowed := make([]string, 0, len(o.Fields))
			for k := range o.Fields {
				allowed = append(allowed, k)
			}
			slices.Sort(allowed)
			return "", errs.Invalid("ordering", "Unknown ordering field "+strconv.Quote(strings.TrimPrefix(f, "-"))+"; allowed: "+strings.Join(allowed, ", ")+".")
		}
		parts = append(parts, col+direction(desc))
	}
	if o.TieBreak != "" {
		parts = append(parts, o.TieBreak+direction(desc))
	}
	return strings.Join(parts, ", "), nil
}

func direction(desc bool) string {
	if desc {
		return " DESC"
	}
	return " ASC"
}
