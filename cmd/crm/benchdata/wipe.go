package benchdata

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchAccounts finds the accounts of an earlier bench dataset: those named
// Bench Co / Other Co 1..4, and those owning an employee with a dataset
// login.
func benchAccounts(ctx context.Context, w writer, p Params) ([]int64, error) {
	var names, emails []string
	for _, a := range p.Accounts() {
		names = append(names, a.Name)
		emails = append(emails, a.AdminEmail)
	}
	q := `SELECT id FROM accounts WHERE name IN (` + placeholders(len(names)) + `)
		UNION SELECT account_id FROM employees WHERE email LIKE '%@bench.example.com' OR email IN (` + placeholders(len(emails)) + `)
		ORDER BY 1`
	args := make([]any, 0, len(names)+len(emails))
	for _, s := range append(names, emails...) {
		args = append(args, s)
	}
	return w.int64s(ctx, q, args...)
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func idList(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// deleteOrder sorts the tables that hold account_id so that a table comes
// before every table it references (children first).
func deleteOrder(tables []string, fks [][2]string) []string {
	in := map[string]bool{}
	for _, t := range tables {
		in[t] = true
	}
	children := map[string]int{} // parent -> how many remaining tables reference it
	parents := map[string][]string{}
	for _, fk := range fks {
		child, parent := fk[0], fk[1]
		if child == parent || !in[child] || !in[parent] {
			continue
		}
		children[parent]++
		parents[child] = append(parents[child], parent)
	}
	var out []string
	done := map[string]bool{}
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if done[t] || children[t] > 0 {
				continue
			}
			done[t], progress = true, true
			out = append(out, t)
			for _, p := range parents[t] {
				children[p]--
			}
		}
		if !progress { // a cycle: keep the rest in name order
			for _, t := range tables {
				if !done[t] {
					done[t] = true
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// wiped is what the wipe did.
type wiped struct {
	Deleted map[string]int64 // rows by table
	Kept    []string         // tables that refused the delete (append-only logs)
	Retired []string         // accounts kept, renamed, because a kept table still references them
	Removed int              // accounts deleted
}

// wipe removes the earlier bench dataset. Rows go table by table, children
// first. A table that refuses deletes (the audit log is append-only) keeps
// its rows, and an account such rows still reference is retired instead
// of deleted: emptied of everything else and renamed, so its history stays
// and no login of it remains.
func wipe(ctx context.Context, w writer, p Params, at time.Time) (*wiped, error) {
	out := &wiped{Deleted: map[string]int64{}}
	ids, err := benchAccounts(ctx, w, p)
	if err != nil {
		return nil, fmt.Errorf("find the earlier bench dataset: %w", err)
	}
	if len(ids) == 0 {
		return out, nil
	}
	tables, fks, err := w.tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the schema: %w", err)
	}
	tables = slices.DeleteFunc(tables, func(t string) bool { return t == "accounts" })
	in := idList(ids)
	fast, err := fastDeletes(ctx, w, tables, fks)
	if err != nil {
		return nil, err
	}
	for i, t := range deleteOrder(tables, fks) {
		sp := "bench_wipe_" + strconv.Itoa(i)
		if _, err := w.exec(ctx, "SAVEPOINT "+sp); err != nil {
			return nil, err
		}
		n, err := deleteRows(ctx, w, t, in, fast(t, out.Deleted))
		if err != nil {
			if _, rerr := w.exec(ctx, "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
				return nil, fmt.Errorf("wipe %s: %v (and rollback: %w)", t, err, rerr)
			}
			if t == "employees" {
				return nil, fmt.Errorf("wipe: the employees of the earlier bench dataset cannot be deleted: %w", err)
			}
			out.Kept = append(out.Kept, t)
		} else {
			out.Deleted[t] = n
		}
		if _, err := w.exec(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
			return nil, err
		}
	}
	retire := map[int64]bool{}
	for _, t := range out.Kept {
		still, err := w.int64s(ctx, `SELECT DISTINCT account_id FROM "`+t+`" WHERE account_id IN (`+in+`)`)
		if err != nil {
			return nil, err
		}
		for _, id := range still {
			retire[id] = true
		}
	}
	for _, id := range ids {
		if !retire[id] {
			if _, err := w.exec(ctx, `DELETE FROM accounts WHERE id = ?`, id); err != nil {
				return nil, fmt.Errorf("wipe account %d: %w", id, err)
			}
			out.Removed++
			continue
		}
		names, err := w.texts(ctx, `SELECT name FROM accounts WHERE id = ?`, id)
		if err != nil {
			return nil, err
		}
		name := names[0][0]
		if len([]rune(name)) > 100 {
			name = string([]rune(name)[:100])
		}
		name = fmt.Sprintf("%s (bench data wiped %s, #%d)", name, at.Format("2006-01-02 15:04:05"), id)
		if _, err := w.exec(ctx, `UPDATE accounts SET name = ?, updated_at = ? WHERE id = ?`, name, at, id); err != nil {
			return nil, fmt.Errorf("retire account %d: %w", id, err)
		}
		out.Retired = append(out.Retired, name)
	}
	return out, nil
}

// deleteRows deletes the accounts' rows of table t; with skipChecks, the
// foreign keys pointing at t are not checked row by row (see fastDeletes).
func deleteRows(ctx context.Context, w writer, t, accounts string, skipChecks bool) (int64, error) {
	if !skipChecks {
		return w.exec(ctx, `DELETE FROM "`+t+`" WHERE account_id IN (`+accounts+`)`)
	}
	if _, err := w.exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		return 0, err
	}
	n, err := w.exec(ctx, `DELETE FROM "`+t+`" WHERE account_id IN (`+accounts+`)`)
	if err != nil {
		return n, err
	}
	_, err = w.exec(ctx, `SET LOCAL session_replication_role = origin`)
	return n, err
}

// fastDeletes tells, on PostgreSQL as a superuser, which deletes may skip
// the row by row checks of the foreign keys that point at the table (the
// bulk of a wipe's cost): a table with no trigger of its own (but counters), every table
// pointing at which has already been emptied of these accounts' rows, in
// this transaction. A table pointed at by a table that kept its rows (an
// append-only log) or by a table without account_id is deleted with every
// check on, so nothing is ever left dangling.
func fastDeletes(ctx context.Context, w writer, tables []string, fks [][2]string) (func(t string, deleted map[string]int64) bool, error) {
	never := func(string, map[string]int64) bool { return false }
	pw, ok := w.(pgWriter)
	if !ok {
		return never, nil
	}
	if super, err := isSuperuser(ctx, pw); err != nil || !super {
		return never, err
	}
	// A trigger keeping a counter does not count: the wipe deletes every
	// counter row of these accounts too.
	rows, err := pw.texts(ctx, `SELECT DISTINCT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace s ON s.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid
		WHERE NOT t.tgisinternal AND s.nspname = current_schema() AND NOT p.proname = ANY(?)`, slices.Collect(maps.Keys(counters)))
	if err != nil {
		return never, err
	}
	triggered := map[string]bool{}
	for _, r := range rows {
		triggered[r[0]] = true
	}
	children := map[string][]string{}
	for _, fk := range fks {
		if fk[0] != fk[1] {
			children[fk[1]] = append(children[fk[1]], fk[0])
		}
	}
	return func(t string, deleted map[string]int64) bool {
		if triggered[t] {
			return false
		}
		for _, c := range children[t] {
			if _, done := deleted[c]; !done {
				return false
			}
		}
		return true
	}, nil
}
