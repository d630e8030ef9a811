-- Payment totals per account, currency and status (count and exact sum of
-- cents), kept by triggers in the transaction of every write to payments
-- (the API, the Stripe webhook, seeds, bulk loads, cascades), so the
-- statistics of a caller who reads every payment read a few rows instead of
-- scanning the account's payments. The sum is NUMERIC: exact, and no
-- overflow however many payments add up.
--
-- Exact under concurrency: each write upserts its rows (n = n + delta) in
-- one statement ordered by the key, so writers of the same totals queue on
-- their row locks in the same order, and totals are only read as committed.
CREATE TABLE payment_totals (
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL,
    n            BIGINT NOT NULL,
    amount_cents NUMERIC NOT NULL,
    PRIMARY KEY (account_id, currency, status)
);
--bun:split
-- payments_total_rows adds what a statement did to payments (the rows it
-- inserted +1, deleted -1, updated both) to payment_totals, in one upsert
-- ordered by the key. A decrement of a total that is gone (its account
-- being deleted, or a bulk wipe that emptied payment_totals first) is
-- dropped. An update that changes no amount, currency, status or account
-- writes nothing.
CREATE FUNCTION payments_total_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO payment_totals AS t (account_id, currency, status, n, amount_cents)
        SELECT account_id, currency, status, count(*), sum(amount_cents) FROM new_rows
         GROUP BY 1, 2, 3
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, currency, status) DO UPDATE
            SET n = t.n + EXCLUDED.n, amount_cents = t.amount_cents + EXCLUDED.amount_cents;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO payment_totals AS t (account_id, currency, status, n, amount_cents)
        SELECT r.account_id, r.currency, r.status, -count(*), -sum(r.amount_cents) FROM old_rows r
         GROUP BY 1, 2, 3
        HAVING EXISTS (SELECT FROM payment_totals p
                        WHERE p.account_id = r.account_id AND p.currency = r.currency AND p.status = r.status)
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, currency, status) DO UPDATE
            SET n = t.n + EXCLUDED.n, amount_cents = t.amount_cents + EXCLUDED.amount_cents;
    ELSE
        INSERT INTO payment_totals AS t (account_id, currency, status, n, amount_cents)
        SELECT r.account_id, r.currency, r.status, sum(r.s), sum(r.s * r.amount_cents)
          FROM (SELECT account_id, currency, status, amount_cents, 1 AS s FROM new_rows
                UNION ALL
                SELECT account_id, currency, status, amount_cents, -1 FROM old_rows) AS r
         GROUP BY 1, 2, 3
        HAVING (sum(r.s) <> 0 OR sum(r.s * r.amount_cents) <> 0)
           AND (sum(r.s) > 0 OR EXISTS (SELECT FROM payment_totals p
                                        WHERE p.account_id = r.account_id AND p.currency = r.currency AND p.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, currency, status) DO UPDATE
            SET n = t.n + EXCLUDED.n, amount_cents = t.amount_cents + EXCLUDED.amount_cents;
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER payments_total_insert AFTER INSERT ON payments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payments_total_rows();
--bun:split
CREATE TRIGGER payments_total_update AFTER UPDATE ON payments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payments_total_rows();
--bun:split
CREATE TRIGGER payments_total_delete AFTER DELETE ON payments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payments_total_rows();
--bun:split
-- payments_retotal rebuilds the totals of some accounts from their
-- payments: for a bulk load that ran with triggers off (crm seed bench, as
-- pg_restore --disable-triggers does).
CREATE FUNCTION payments_retotal(accounts BIGINT[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM payment_totals WHERE account_id = ANY (accounts);
    INSERT INTO payment_totals (account_id, currency, status, n, amount_cents)
    SELECT account_id, currency, status, count(*), sum(amount_cents)
      FROM payments WHERE account_id = ANY (accounts)
     GROUP BY 1, 2, 3;
$$;
--bun:split
-- Totals for the payments that exist already.
SELECT payments_retotal(ARRAY(SELECT id FROM accounts));
