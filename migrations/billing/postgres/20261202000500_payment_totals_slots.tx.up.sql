-- Payment totals spread over 16 slot rows per total, as client_counts
-- (migrations/clients, 20261202000300): a statement adds to the slot of its
-- connection (pg_backend_pid() % 16), so concurrent payments of one account,
-- currency and status no longer queue on one row lock until commit; readers
-- sum the slots. A slot alone may go negative; the upsert stays ordered by
-- the key (slot last). payments_retotal writes slot 0 (the default).
ALTER TABLE payment_totals ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 15);
--bun:split
ALTER TABLE payment_totals DROP CONSTRAINT payment_totals_pkey, ADD PRIMARY KEY (account_id, currency, status, slot);
--bun:split
-- As before (20261126000500_payment_totals), into the connection's slot. A
-- decrement is dropped only when no slot of its total exists.
CREATE OR REPLACE FUNCTION payments_total_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO payment_totals AS t (account_id, currency, status, slot, n, amount_cents)
        SELECT account_id, currency, status, pg_backend_pid() % 16, count(*), sum(amount_cents) FROM new_rows
         GROUP BY 1, 2, 3
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, currency, status, slot) DO UPDATE
            SET n = t.n + EXCLUDED.n, amount_cents = t.amount_cents + EXCLUDED.amount_cents;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO payment_totals AS t (account_id, currency, status, slot, n, amount_cents)
        SELECT r.account_id, r.currency, r.status, pg_backend_pid() % 16, -count(*), -sum(r.amount_cents) FROM old_rows r
         GROUP BY 1, 2, 3
        HAVING EXISTS (SELECT FROM payment_totals p
                        WHERE p.account_id = r.account_id AND p.currency = r.currency AND p.status = r.status)
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, currency, status, slot) DO UPDATE
            SET n = t.n + EXCLUDED.n, amount_cents = t.amount_cents + EXCLUDED.amount_cents;
    ELSE
        INSERT INTO payment_totals AS t (account_id, currency, status, slot, n, amount_cents)
        SELECT r.account_id, r.currency, r.status, pg_backend_pid() % 16, sum(r.s), sum(r.s * r.amount_cents)
          FROM (SELECT account_id, currency, status, amount_cents, 1 AS s FROM new_rows
                UNION ALL
                SELECT account_id, currency, status, amount_cents, -1 FROM old_rows) AS r
         GROUP BY 1, 2, 3
        HAVING (sum(r.s) <> 0 OR sum(r.s * r.amount_cents) <> 0)
           AND (sum(r.s) > 0 OR EXISTS (SELECT FROM payment_totals p
                                        WHERE p.account_id = r.account_id AND p.currency = r.currency AND p.status = r.status))
         ORDER BY 1, 2, 3
        ON CONFLICT (account_id, currency, status, slot) DO UPDATE
            SET n = t.n + EXCLUDED.n, amount_cents = t.amount_cents + EXCLUDED.amount_cents;
    END IF;
    RETURN NULL;
END
$$;
