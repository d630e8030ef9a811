-- Each account's Stripe webhook: the unguessable path token of its URL and
-- its signing secret (write-only through the API).
CREATE TABLE stripe_settings (
    account_id     INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    path_token     TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX stripe_settings_path_token ON stripe_settings (path_token);
--bun:split
-- Every Stripe event received, once per account: a redelivery finds its id
-- here and writes nothing. An event waiting for its customer to be linked
-- to a client (or its payment to exist) keeps its payload until then.
CREATE TABLE stripe_events (
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    created     TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    waiting_for TEXT NOT NULL DEFAULT '',
    payload     TEXT,
    PRIMARY KEY (account_id, event_id)
);
--bun:split
CREATE INDEX stripe_events_waiting ON stripe_events (account_id, waiting_for) WHERE outcome = 'waiting';
--bun:split
-- The newest Stripe event applied to each Stripe object (customer,
-- payment intent), so an older event arriving late never undoes it.
CREATE TABLE stripe_objects (
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    stripe_id     TEXT NOT NULL,
    last_event_at TIMESTAMP NOT NULL,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (account_id, stripe_id)
);
