-- A delivery is unique per (account_id, endpoint_id, event_id), and
-- UNIQUE (account_id, id) stands beside the rowid key (docs/operations.md,
-- Citus), as on PostgreSQL. SQLite drops a table's own constraint by
-- rebuilding the table; nothing references webhook_deliveries. The
-- AUTOINCREMENT counter is carried over, so no id is given twice.
ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_old;
DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_endpoint;
CREATE TABLE webhook_deliveries (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL,
    endpoint_id        INTEGER NOT NULL,
    event_id           TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    payload            TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TIMESTAMP NOT NULL,
    give_up_at         TIMESTAMP NOT NULL,
    locked_until       TIMESTAMP,
    claim              TEXT,
    last_attempt_at    TIMESTAMP,
    last_response_code INTEGER,
    last_error         TEXT NOT NULL DEFAULT '',
    delivered_at       TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, endpoint_id) REFERENCES webhook_endpoints (account_id, id) ON DELETE CASCADE,
    UNIQUE (account_id, endpoint_id, event_id)
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'webhook_deliveries', seq FROM sqlite_sequence WHERE name = 'webhook_deliveries_old';
INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at,
    give_up_at, locked_until, claim, last_attempt_at, last_response_code, last_error, delivered_at, created_at)
SELECT id, account_id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at,
    give_up_at, locked_until, claim, last_attempt_at, last_response_code, last_error, delivered_at, created_at
  FROM webhook_deliveries_old;
DROP TABLE webhook_deliveries_old;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (account_id, endpoint_id, created_at);
