-- Client counts by status, kept by triggers in the transaction of every write
-- to clients (the API, the Stripe webhook, seeds, bulk loads, cascades), so
-- the statistics and the unfiltered counts of the list read a few rows
-- instead of scanning the account's clients. employee_id 0 counts every
-- client of the account; any other employee_id counts the clients that
-- employee coaches, closes or sets (once each, whatever the number of
-- roles), which is what the assigned-only scope reads.
--
-- Exact under concurrency: each write upserts its rows (n = n + delta) in
-- one statement ordered by the key, so writers of the same counters queue on
-- their row locks in the same order (no deadlock between them), and a count
-- is only ever read as committed.
CREATE TABLE client_counts (
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    employee_id BIGINT NOT NULL,
    status      TEXT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (account_id, employee_id, status)
);
--bun:split
-- clients_count_rows adds what a statement did to clients (the rows it
-- inserted +1, deleted -1, updated both) to client_counts, in one upsert
-- ordered by the key. A decrement of a counter that is gone (its account
-- being deleted, or a bulk wipe that emptied client_counts first) is
-- dropped rather than written as a negative row. An update that changes no
-- status, assignment or account writes nothing.
CREATE FUNCTION clients_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO client_counts AS t (account_id, employee_id, status, n)
        SELECT r.account_id, e.id, r.status, sum(r.s)
          FROM (SELECT account_id, status, coach_id, closer_id, setter_id, 1 AS s FROM new_rows) AS r
          CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (0::bigint), (r.coach_id), (r.closer_id), (r.setter_id)) AS x (v) WHERE v IS NOT NULL) AS e (id)
         GROUP BY 1, 2, 3
        HAVING sum(r.s) > 0 OR (sum(r.s) < 0 AND EXISTS (SELECT FROM client_counts c
                                 WHERE c.account_id = r.account_id AND c.employee_id = e.id AND c.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, employee_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO client_counts AS t (account_id, employee_id, status, n)
        SELECT r.account_id, e.id, r.status, sum(r.s)
          FROM (SELECT account_id, status, coach_id, closer_id, setter_id, -1 AS s FROM old_rows) AS r
          CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (0::bigint), (r.coach_id), (r.closer_id), (r.setter_id)) AS x (v) WHERE v IS NOT NULL) AS e (id)
         GROUP BY 1, 2, 3
        HAVING sum(r.s) > 0 OR (sum(r.s) < 0 AND EXISTS (SELECT FROM client_counts c
                                 WHERE c.account_id = r.account_id AND c.employee_id = e.id AND c.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, employee_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO client_counts AS t (account_id, employee_id, status, n)
        SELECT r.account_id, e.id, r.status, sum(r.s)
          FROM (SELECT account_id, status, coach_id, closer_id, setter_id, 1 AS s FROM new_rows
                UNION ALL
                SELECT account_id, status, coach_id, closer_id, setter_id, -1 FROM old_rows) AS r
          CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (0::bigint), (r.coach_id), (r.closer_id), (r.setter_id)) AS x (v) WHERE v IS NOT NULL) AS e (id)
         GROUP BY 1, 2, 3
        HAVING sum(r.s) > 0 OR (sum(r.s) < 0 AND EXISTS (SELECT FROM client_counts c
                                 WHERE c.account_id = r.account_id AND c.employee_id = e.id AND c.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, employee_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER clients_count_insert AFTER INSERT ON clients REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clients_count_rows();
--bun:split
CREATE TRIGGER clients_count_update AFTER UPDATE ON clients REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clients_count_rows();
--bun:split
CREATE TRIGGER clients_count_delete AFTER DELETE ON clients REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clients_count_rows();
--bun:split
-- clients_recount rebuilds the counts of some accounts from their clients:
-- for a bulk load that ran with triggers off (crm seed bench, as
-- pg_restore --disable-triggers does).
CREATE FUNCTION clients_recount(accounts BIGINT[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM client_counts WHERE account_id = ANY (accounts);
    INSERT INTO client_counts (account_id, employee_id, status, n)
    SELECT r.account_id, e.id, r.status, count(*)
      FROM clients r
      CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (0::bigint), (r.coach_id), (r.closer_id), (r.setter_id)) AS x (v) WHERE v IS NOT NULL) AS e (id)
     WHERE r.account_id = ANY (accounts)
     GROUP BY 1, 2, 3;
$$;
--bun:split
-- Counts for the clients that exist already.
SELECT clients_recount(ARRAY(SELECT id FROM accounts));
