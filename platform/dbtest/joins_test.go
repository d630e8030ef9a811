package dbtest

import (
	"strings"
	"testing"
)

func TestJoinProblem(t *testing.T) {
	tenant := func(table string) bool {
		switch table {
		case "clients", "employees", "sessions", "payments", "instalments", "webhook_deliveries",
			"webhook_overdue_instalments", "client_counts", "payment_totals":
			return true
		}
		return false
	}
	tied := map[string]string{
		"one table": `SELECT "c"."id" FROM "clients" AS "c" WHERE ("c"."account_id" = 1)`,
		"join on account_id": `SELECT e.id FROM sessions AS s JOIN employees AS e ON e.id = s.employee_id AND e.account_id = s.account_id
			JOIN accounts AS a ON a.id = e.account_id WHERE s.id = 'x'`,
		"both scoped, a subquery": `SELECT "pay"."id" FROM "payments" AS "pay" WHERE ("pay"."account_id" = 1)
			AND ("pay"."client_id" IN (SELECT "c"."id" FROM "clients" AS "c" WHERE ("c"."account_id" = 1) AND ((c.coach_id = 2 OR c.closer_id = 2))))`,
		"correlated on account_id": `SELECT "ins"."id" FROM "instalments" AS "ins" WHERE (ins.status = 'open')
			AND (NOT EXISTS (SELECT 1 FROM webhook_overdue_instalments AS wo WHERE wo.account_id = ins.account_id AND wo.instalment_id = ins.id))`,
		"row values": `UPDATE "webhook_deliveries" AS "wd" SET locked_until = '2026-01-01' WHERE ((account_id, id) IN
			(SELECT "wd"."account_id", "wd"."id" FROM "webhook_deliveries" AS "wd" WHERE (wd.status = 'pending') LIMIT 10 FOR UPDATE SKIP LOCKED))`,
		"union arms":      `SELECT id FROM clients WHERE status = 'x' UNION ALL SELECT client_id FROM payments`,
		"insert a select": `INSERT INTO client_counts (account_id, n) SELECT account_id, count(*) FROM clients WHERE account_id = 1 GROUP BY 1`,
		"insert its rows": `INSERT INTO "client_counts" AS "t" ("account_id", "n") VALUES (1, 2) ON CONFLICT (account_id) DO UPDATE SET n = t.n + excluded.n`,
		"SQL in a string": `SELECT * FROM clients AS c WHERE c.account_id = 1 AND c.notes = 'FROM payments p JOIN instalments i ON 1 = 1'`,
		"not tenant":      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace`,
		"distinct from":   `SELECT * FROM clients WHERE account_id IS NOT DISTINCT FROM (SELECT NULLIF(current_setting('app.account_id', true), '')::bigint)`,
		"statements": `DELETE FROM payment_totals WHERE account_id = ANY (accounts);
			INSERT INTO payment_totals (account_id) SELECT account_id FROM payments WHERE account_id = ANY (accounts)`,
		"through a third column": `SELECT 1 FROM clients c JOIN accounts a ON a.id = c.account_id JOIN payments p ON p.account_id = a.id`,
	}
	for name, q := range tied {
		if got := JoinProblem(q, tenant); got != "" {
			t.Errorf("%s: %s\n%s", name, got, q)
		}
	}
	untied := map[string]struct{ query, names string }{
		"join on the id only": {`SELECT * FROM clients c JOIN employees e ON e.id = c.coach_id WHERE c.account_id = 1`,
			"clients AS c|employees AS e"},
		"a subquery of any account": {`SELECT * FROM payments AS p WHERE p.client_id IN (SELECT id FROM clients WHERE status = 'active')`,
			"payments AS p|clients AS clients"},
		"claim by id": {`UPDATE "webhook_deliveries" AS "wd" SET claim = 'x' WHERE (id IN (SELECT "wd"."id" FROM "webhook_deliveries" AS "wd" WHERE (wd.status = 'pending')))`,
			"webhook_deliveries AS wd"},
		"correlated on the id only": {`SELECT ins.id FROM instalments AS ins WHERE NOT EXISTS (SELECT 1 FROM webhook_overdue_instalments wo WHERE wo.instalment_id = ins.id)`,
			"instalments AS ins|webhook_overdue_instalments AS wo"},
		"a comma": {`SELECT * FROM clients c, payments p WHERE p.client_id = c.id AND c.account_id = 1`,
			"clients AS c|payments AS p"},
		"one side scoped": {`SELECT * FROM "clients" AS "c" LEFT JOIN "payments" AS "p" ON ("p"."client_id" = "c"."id") WHERE ("c"."account_id" = 1)`,
			"clients AS c|payments AS p"},
	}
	for name, c := range untied {
		got := JoinProblem(c.query, tenant)
		if got == "" {
			t.Errorf("%s: not reported\n%s", name, c.query)
			continue
		}
		for _, n := range strings.Split(c.names, "|") {
			if !strings.Contains(got, n) {
				t.Errorf("%s: %q does not name %s", name, got, n)
			}
		}
	}
}
