package dbtest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Table is what a schema test reads of one table of a migrated database.
type Table struct {
	Name    string
	NotNull map[string]bool // every column, true when NOT NULL
	// Primary is the primary key's columns (none: no primary key). RowID:
	// on SQLite, the primary key is the rowid (id INTEGER PRIMARY KEY).
	Primary []string
	RowID   bool
	Uniques []Key // unique constraints and unique indexes, the primary key's excepted
	Foreign []ForeignKey
}

// Key is a unique index: its name and key columns (an expression's text,
// or "(expression)" on SQLite).
type Key struct {
	Name    string
	Columns []string
}

// ForeignKey is a foreign key: Columns of the table reference
// ParentColumns of Parent, pairwise.
type ForeignKey struct {
	Name          string
	Columns       []string
	Parent        string
	ParentColumns []string
}

func (t *Table) String() string { return t.Name }

func (k Key) String() string { return fmt.Sprintf("%s (%s)", k.Name, strings.Join(k.Columns, ", ")) }

func (f ForeignKey) String() string {
	return fmt.Sprintf("%s (%s) REFERENCES %s (%s)", f.Name, strings.Join(f.Columns, ", "), f.Parent, strings.Join(f.ParentColumns, ", "))
}

// Schema reads every table of the database's current schema (PostgreSQL)
// or main database (SQLite) from its catalog.
func Schema(ctx context.Context, d bun.IDB) (map[string]*Table, error) {
	if d.Dialect().Name() == dialect.PG {
		return pgSchema(ctx, d)
	}
	return sqliteSchema(ctx, d)
}

// TenantTables names the tables with an account_id column, as
// crm_enable_rls (migrations/rls) finds them.
func TenantTables(ctx context.Context, d bun.IDB) (map[string]bool, error) {
	tables, err := Schema(ctx, d)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for name, t := range tables {
		if _, ok := t.NotNull["account_id"]; ok {
			out[name] = true
		}
	}
	return out, nil
}

func pgSchema(ctx context.Context, d bun.IDB) (map[string]*Table, error) {
	tables := map[string]*Table{}
	var cols []struct {
		Table, Column string
		NotNull       bool
	}
	err := d.NewRaw(`SELECT c.relname AS "table", a.attname AS "column", a.attnotnull AS not_null
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`).Scan(ctx, &cols)
	if err != nil {
		return nil, fmt.Errorf("dbtest: columns: %w", err)
	}
	for _, c := range cols {
		t := tables[c.Table]
		if t == nil {
			t = &Table{Name: c.Table, NotNull: map[string]bool{}}
			tables[c.Table] = t
		}
		t.NotNull[c.Column] = c.NotNull
	}
	var keys []struct {
		Table, Name, Columns string
		Primary              bool
	}
	err = d.NewRaw(`SELECT t.relname AS "table", i.relname AS name, x.indisprimary AS "primary",
			array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k), '|') AS columns
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND x.indisunique`).Scan(ctx, &keys)
	if err != nil {
		return nil, fmt.Errorf("dbtest: unique indexes: %w", err)
	}
	for _, k := range keys {
		t := tables[k.Table]
		if t == nil {
			continue
		}
		if k.Primary {
			t.Primary = strings.Split(k.Columns, "|")
		} else {
			t.Uniques = append(t.Uniques, Key{Name: k.Name, Columns: strings.Split(k.Columns, "|")})
		}
	}
	var fks []struct {
		Table, Name, Parent, Columns, ParentColumns string
	}
	err = d.NewRaw(`SELECT c.relname AS "table", k.conname AS name, p.relname AS parent,
			array_to_string(ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u (n, i)
				JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i), '|') AS columns,
			array_to_string(ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u (n, i)
				JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i), '|') AS parent_columns
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema()`).Scan(ctx, &fks)
	if err != nil {
		return nil, fmt.Errorf("dbtest: foreign keys: %w", err)
	}
	for _, f := range fks {
		if t := tables[f.Table]; t != nil {
			t.Foreign = append(t.Foreign, ForeignKey{Name: f.Name, Columns: strings.Split(f.Columns, "|"),
				Parent: f.Parent, ParentColumns: strings.Split(f.ParentColumns, "|")})
		}
	}
	sortKeys(tables)
	return tables, nil
}

func sqliteSchema(ctx context.Context, d bun.IDB) (map[string]*Table, error) {
	var masters []struct{ Name, SQL string }
	if err := d.NewRaw(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(ctx, &masters); err != nil {
		return nil, fmt.Errorf("dbtest: tables: %w", err)
	}
	tables := map[string]*Table{}
	for _, m := range masters {
		t := &Table{Name: m.Name, NotNull: map[string]bool{}}
		tables[m.Name] = t
		var cols []sqliteColumn
		if err := d.NewRaw(`SELECT name, type, "notnull" AS not_null, pk FROM pragma_table_info(?)`, m.Name).Scan(ctx, &cols); err != nil {
			return nil, fmt.Errorf("dbtest: columns of %s: %w", m.Name, err)
		}
		sort.Slice(cols, func(i, j int) bool { return cols[i].PK < cols[j].PK })
		for _, c := range cols {
			t.NotNull[c.Name] = c.NotNull
			if c.PK > 0 {
				t.Primary = append(t.Primary, c.Name)
			}
		}
		// SQLite's rule for a rowid alias: one INTEGER primary key column of
		// a table with a rowid.
		t.RowID = len(t.Primary) == 1 && strings.EqualFold(cols[len(cols)-1].Type, "INTEGER") &&
			!strings.Contains(strings.ToUpper(m.SQL), "WITHOUT ROWID")
		var err error
		if t.Uniques, err = sqliteUniques(ctx, d, m.Name); err != nil {
			return nil, err
		}
		if t.Foreign, err = sqliteForeignKeys(ctx, d, m.Name); err != nil {
			return nil, err
		}
	}
	// A foreign key that names no parent column references its primary key.
	for _, t := range tables {
		for i := range t.Foreign {
			fk := &t.Foreign[i]
			if p := tables[fk.Parent]; p != nil && len(p.Primary) == len(fk.ParentColumns) {
				for j, c := range fk.ParentColumns {
					if c == "" {
						fk.ParentColumns[j] = p.Primary[j]
					}
				}
			}
		}
	}
	sortKeys(tables)
	return tables, nil
}

// sqliteUniques are the unique keys of table other than its primary key.
func sqliteUniques(ctx context.Context, d bun.IDB, table string) ([]Key, error) {
	var idx []struct {
		Name, Origin string
		Unique       bool
	}
	if err := d.NewRaw(`SELECT name, "unique", origin FROM pragma_index_list(?)`, table).Scan(ctx, &idx); err != nil {
		return nil, fmt.Errorf("dbtest: indexes of %s: %w", table, err)
	}
	var keys []Key
	for _, ix := range idx {
		if !ix.Unique || ix.Origin == "pk" {
			continue
		}
		var keyCols []struct {
			Name *string
		}
		if err := d.NewRaw(`SELECT name FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, ix.Name).Scan(ctx, &keyCols); err != nil {
			return nil, fmt.Errorf("dbtest: columns of index %s: %w", ix.Name, err)
		}
		k := Key{Name: ix.Name}
		for _, c := range keyCols {
			if c.Name == nil {
				k.Columns = append(k.Columns, "(expression)")
			} else {
				k.Columns = append(k.Columns, *c.Name)
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sqliteForeignKeys are the foreign keys of table; a parent column it does
// not name is "" (sqliteSchema fills in the parent's primary key).
func sqliteForeignKeys(ctx context.Context, d bun.IDB, table string) ([]ForeignKey, error) {
	var fks []struct {
		ID, Seq int
		Parent  string
		From    string
		To      *string
	}
	if err := d.NewRaw(`SELECT id, seq, "table" AS parent, "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table).Scan(ctx, &fks); err != nil {
		return nil, fmt.Errorf("dbtest: foreign keys of %s: %w", table, err)
	}
	var out []ForeignKey
	for i, f := range fks {
		if i == 0 || f.ID != fks[i-1].ID {
			out = append(out, ForeignKey{Name: fmt.Sprintf("foreign key #%d", f.ID), Parent: f.Parent})
		}
		fk := &out[len(out)-1]
		fk.Columns = append(fk.Columns, f.From)
		to := ""
		if f.To != nil {
			to = *f.To
		}
		fk.ParentColumns = append(fk.ParentColumns, to)
	}
	return out, nil
}

type sqliteColumn struct {
	Name, Type string
	NotNull    bool
	PK         int
}

func sortKeys(tables map[string]*Table) {
	for _, t := range tables {
		sort.Slice(t.Uniques, func(i, j int) bool { return t.Uniques[i].Name < t.Uniques[j].Name })
		sort.Slice(t.Foreign, func(i, j int) bool { return t.Foreign[i].Name < t.Foreign[j].Name })
	}
}
