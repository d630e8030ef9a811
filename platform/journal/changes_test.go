package journal_test

import (
	"reflect"
	"testing"

	"crm/platform/journal"
)

// TestChanges: a create is every non-null field from null, an update the
// fields that differ, a delete every non-null field to null.
func TestChanges(t *testing.T) {
	row := map[string]any{"name": "Gold", "price": "10.00", "end": nil}
	for name, c := range map[string]struct {
		old, new map[string]any
		want     map[string]journal.Change
	}{
		"create": {nil, row, map[string]journal.Change{"name": {New: "Gold"}, "price": {New: "10.00"}}},
		"update": {row, map[string]any{"name": "Gold", "price": "12.00", "end": nil}, map[string]journal.Change{"price": {Old: "10.00", New: "12.00"}}},
		"same":   {row, row, map[string]journal.Change{}},
		"delete": {row, nil, map[string]journal.Change{"name": {Old: "Gold"}, "price": {Old: "10.00"}}},
	} {
		if got := journal.Changes(c.old, c.new); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}
