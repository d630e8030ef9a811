CREATE TABLE webhook_endpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    event_types TEXT NOT NULL DEFAULT '[]',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    secret      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (account_id, id)
);
--bun:split
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, enabled);
--bun:split
-- The outbox: one row per (event, endpoint), written in the transaction of
-- the change, and the delivery log the API shows.
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
    FOREIGN KEY (account_id, endpoint_id) REFERENCES webhook_endpoints (account_id, id) ON DELETE CASCADE,
    UNIQUE (endpoint_id, event_id)
);
--bun:split
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
--bun:split
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (account_id, endpoint_id, created_at);
--bun:split
-- Instalments already announced as overdue (instalment.overdue is sent once).
CREATE TABLE webhook_overdue_instalments (
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    instalment_id INTEGER NOT NULL,
    noticed_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, instalment_id)
);
