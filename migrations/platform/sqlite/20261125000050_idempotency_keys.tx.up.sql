-- Idempotency-Key (platform/httpx/idempotency.go): one row per account and
-- key, written in the transaction of the request that used the key, with
-- its fingerprint and its answer. Rows older than 24 hours are ignored and
-- deleted. No foreign key to accounts: the platform's timeline comes first.
CREATE TABLE idempotency_keys (
    account_id   INTEGER NOT NULL,
    key          TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    employee_id  INTEGER NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, key)
);
--bun:split
CREATE INDEX idempotency_keys_account_created ON idempotency_keys (account_id, created_at);
