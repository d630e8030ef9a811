-- Payment totals per account, currency and status (count and exact sum of
-- cents), kept by triggers in the transaction of every write to payments
-- (the API, the Stripe webhook, seeds, bulk loads), so the statistics of a
-- caller who reads every payment read a few rows instead of scanning the
-- account's payments. (SQLite has one writer at a time, so row triggers are
-- exact; PostgreSQL's version is statement-level.)
CREATE TABLE payment_totals (
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL,
    n            INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    PRIMARY KEY (account_id, currency, status)
) WITHOUT ROWID;
--bun:split
CREATE TRIGGER payments_total_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payment_totals (account_id, currency, status, n, amount_cents)
    VALUES (NEW.account_id, NEW.currency, NEW.status, 1, NEW.amount_cents)
    ON CONFLICT (account_id, currency, status) DO UPDATE SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents;
END;
--bun:split
CREATE TRIGGER payments_total_delete AFTER DELETE ON payments BEGIN
    UPDATE payment_totals SET n = n - 1, amount_cents = amount_cents - OLD.amount_cents
     WHERE account_id = OLD.account_id AND currency = OLD.currency AND status = OLD.status;
END;
--bun:split
CREATE TRIGGER payments_total_update AFTER UPDATE OF account_id, currency, status, amount_cents ON payments
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.currency IS NOT NEW.currency OR OLD.status IS NOT NEW.status
  OR OLD.amount_cents IS NOT NEW.amount_cents
BEGIN
    UPDATE payment_totals SET n = n - 1, amount_cents = amount_cents - OLD.amount_cents
     WHERE account_id = OLD.account_id AND currency = OLD.currency AND status = OLD.status;
    INSERT INTO payment_totals (account_id, currency, status, n, amount_cents)
    VALUES (NEW.account_id, NEW.currency, NEW.status, 1, NEW.amount_cents)
    ON CONFLICT (account_id, currency, status) DO UPDATE SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents;
END;
--bun:split
-- Totals for the payments that exist already.
INSERT INTO payment_totals (account_id, currency, status, n, amount_cents)
SELECT account_id, currency, status, count(*), sum(amount_cents) FROM payments GROUP BY account_id, currency, status;
