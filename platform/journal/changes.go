package journal

// Changes compares two field maps of one row (wire names to values) and
// returns the fields whose value differs. A nil old is a create: every field
// of new is a change from null. A key only old has is a change to null, so
// Changes(fields, nil) is what a delete records: the row as it was.
func Changes(old, new map[string]any) map[string]Change {
	pairs := make(map[string][2]any, len(old)+len(new))
	for k, v := range old {
		pairs[k] = [2]any{v, nil}
	}
	for k, v := range new {
		pairs[k] = [2]any{old[k], v}
	}
	return Diff(pairs)
}
