-- Payments, instalments and Stripe customers: rows of a client of the same
-- account. Amounts are integer cents (platform/money): *_cents columns.
-- Dates are YYYY-MM-DD text, so they compare and sort as dates.
CREATE TABLE payments (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id               INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id                INTEGER NOT NULL,
    amount_cents             INTEGER NOT NULL CHECK (amount_cents >= 0 AND amount_cents < 100000000000000),
    currency                 TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    status                   TEXT NOT NULL CHECK (status IN ('paid', 'failed', 'refunded', 'disputed')),
    payment_date             TEXT NOT NULL CHECK (payment_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    stripe_payment_intent_id TEXT CHECK (length(stripe_payment_intent_id) BETWEEN 1 AND 255),
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id)
);
--bun:split
-- A Stripe payment intent is recorded once per account.
CREATE UNIQUE INDEX payments_account_intent ON payments (account_id, stripe_payment_intent_id) WHERE stripe_payment_intent_id IS NOT NULL;
--bun:split
-- The account scope with the default ordering (-payment_date, then -id).
CREATE INDEX payments_account_date ON payments (account_id, payment_date, id);
--bun:split
-- The client filter, the readable-clients restriction and the foreign key.
CREATE INDEX payments_account_client ON payments (account_id, client_id, payment_date);
--bun:split
CREATE INDEX payments_account_status ON payments (account_id, status, payment_date);
--bun:split
CREATE INDEX payments_account_currency ON payments (account_id, currency, payment_date);
--bun:split
CREATE TABLE instalments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id         INTEGER NOT NULL,
    client_package_id INTEGER,
    amount_cents      INTEGER NOT NULL CHECK (amount_cents >= 0 AND amount_cents < 100000000000000),
    currency          TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    schedule_date     TEXT NOT NULL CHECK (schedule_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    status            TEXT NOT NULL CHECK (status IN ('open', 'paid', 'failed', 'closed')),
    instalment_number INTEGER NOT NULL CHECK (instalment_number BETWEEN 1 AND 10000),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id),
    -- A client package of the same client (not checked when null).
    FOREIGN KEY (account_id, client_id, client_package_id) REFERENCES client_packages (account_id, client_id, id)
);
--bun:split
-- One instalment number per client package; also the foreign key's index.
CREATE UNIQUE INDEX instalments_package_number ON instalments (account_id, client_package_id, instalment_number) WHERE client_package_id IS NOT NULL;
--bun:split
-- The account scope with the default ordering (schedule_date, then id).
CREATE INDEX instalments_account_date ON instalments (account_id, schedule_date, id);
--bun:split
CREATE INDEX instalments_account_client ON instalments (account_id, client_id, schedule_date);
--bun:split
CREATE INDEX instalments_account_status ON instalments (account_id, status, schedule_date);
--bun:split
CREATE TABLE stripe_customers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id          INTEGER NOT NULL,
    stripe_customer_id TEXT NOT NULL CHECK (length(stripe_customer_id) BETWEEN 1 AND 255),
    email              TEXT NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id)
);
--bun:split
CREATE UNIQUE INDEX stripe_customers_account_customer ON stripe_customers (account_id, stripe_customer_id);
--bun:split
-- The account scope with the default ordering (-created_at, then id).
CREATE INDEX stripe_customers_account_created ON stripe_customers (account_id, created_at, id);
--bun:split
CREATE INDEX stripe_customers_account_client ON stripe_customers (account_id, client_id, created_at);
--bun:split
CREATE INDEX stripe_customers_account_status ON stripe_customers (account_id, status, created_at);
