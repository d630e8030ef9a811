-- Client counts spread over 16 slot rows per counter. Every create, delete
-- or status change of an account's clients updated the same
-- (account, 0, status) row and held its lock until commit, so an account's
-- client writes queued on it one at a time (docs/benchmarks.md, issue 7).
-- Now a statement adds to the slot of its connection (pg_backend_pid() % 16):
-- concurrent transactions on different connections mostly write different
-- rows, and a reader sums the slots (a count is SUM(n) GROUP BY status).
-- A slot alone may go negative (a client created on one connection, deleted
-- on another); only the sum over the slots means anything. The upsert stays
-- ordered by the key (slot last), so writers still take their row locks in
-- the same order and cannot deadlock each other. clients_recount writes
-- slot 0 (the column's default).
ALTER TABLE client_counts ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 15);
--bun:split
ALTER TABLE client_counts DROP CONSTRAINT client_counts_pkey, ADD PRIMARY KEY (account_id, employee_id, status, slot);
--bun:split
-- As before (20261126000300_client_counts), into the connection's slot. A
-- decrement is dropped only when no slot of its counter exists (the
-- account being deleted, or a bulk wipe that emptied client_counts first).
CREATE OR REPLACE FUNCTION clients_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO client_counts AS t (account_id, employee_id, status, slot, n)
        SELECT r.account_id, e.id, r.status, pg_backend_pid() % 16, sum(r.s)
          FROM (SELECT account_id, status, coach_id, closer_id, setter_id, 1 AS s FROM new_rows) AS r
          CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (0::bigint), (r.coach_id), (r.closer_id), (r.setter_id)) AS x (v) WHERE v IS NOT NULL) AS e (id)
         GROUP BY 1, 2, 3
        HAVING sum(r.s) > 0 OR (sum(r.s) < 0 AND EXISTS (SELECT FROM client_counts c
                                 WHERE c.account_id = r.account_id AND c.employee_id = e.id AND c.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, employee_id, status, slot) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO client_counts AS t (account_id, employee_id, status, slot, n)
        SELECT r.account_id, e.id, r.status, pg_backend_pid() % 16, sum(r.s)
          FROM (SELECT account_id, status, coach_id, closer_id, setter_id, -1 AS s FROM old_rows) AS r
          CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (0::bigint), (r.coach_id), (r.closer_id), (r.setter_id)) AS x (v) WHERE v IS NOT NULL) AS e (id)
         GROUP BY 1, 2, 3
        HAVING sum(r.s) > 0 OR (sum(r.s) < 0 AND EXISTS (SELECT FROM client_counts c
                                 WHERE c.account_id = r.account_id AND c.employee_id = e.id AND c.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, employee_id, status, slot) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO client_counts AS t (account_id, employee_id, status, slot, n)
        SELECT r.account_id, e.id, r.status, pg_backend_pid() % 16, sum(r.s)
          FROM (SELECT account_id, status, coach_id, closer_id, setter_id, 1 AS s FROM new_rows
                UNION ALL
                SELECT account_id, status, coach_id, closer_id, setter_id, -1 FROM old_rows) AS r
          CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (0::bigint), (r.coach_id), (r.closer_id), (r.setter_id)) AS x (v) WHERE v IS NOT NULL) AS e (id)
         GROUP BY 1, 2, 3
        HAVING sum(r.s) > 0 OR (sum(r.s) < 0 AND EXISTS (SELECT FROM client_counts c
                                 WHERE c.account_id = r.account_id AND c.employee_id = e.id AND c.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, employee_id, status, slot) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
