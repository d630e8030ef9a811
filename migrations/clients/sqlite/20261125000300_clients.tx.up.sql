CREATE TABLE clients (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    first_name TEXT NOT NULL CHECK (length(first_name) BETWEEN 1 AND 150),
    last_name  TEXT NOT NULL CHECK (length(last_name) BETWEEN 1 AND 150),
    email      TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    phone      TEXT NOT NULL DEFAULT '' CHECK (length(phone) <= 50),
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'onboarding', 'paused', 'cancelled')),
    coach_id   INTEGER,
    closer_id  INTEGER,
    setter_id  INTEGER,
    country    TEXT CHECK (country GLOB '[A-Z][A-Z]'),
    currency   TEXT CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    notes      TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 10000),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- Billing tables reference a client with its account:
    -- FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id).
    UNIQUE (account_id, id),
    -- Coach, closer and setter are employees of the same account.
    FOREIGN KEY (account_id, coach_id) REFERENCES employees (account_id, id),
    FOREIGN KEY (account_id, closer_id) REFERENCES employees (account_id, id),
    FOREIGN KEY (account_id, setter_id) REFERENCES employees (account_id, id)
);
--bun:split
-- One email per account, whatever its case.
CREATE UNIQUE INDEX clients_account_email_key ON clients (account_id, lower(email));
--bun:split
-- The account scope with the default ordering (-created_at, then id).
CREATE INDEX clients_account_created ON clients (account_id, created_at, id);
--bun:split
-- Filters (and statistics by status), each with the default ordering.
CREATE INDEX clients_account_status ON clients (account_id, status, created_at);
--bun:split
CREATE INDEX clients_account_country ON clients (account_id, country, created_at);
--bun:split
-- The assigned-only scope (coach OR closer OR setter = caller), the coach,
-- closer and setter filters, and the foreign keys to employees.
CREATE INDEX clients_account_coach ON clients (account_id, coach_id, created_at);
--bun:split
CREATE INDEX clients_account_closer ON clients (account_id, closer_id, created_at);
--bun:split
CREATE INDEX clients_account_setter ON clients (account_id, setter_id, created_at);
--bun:split
-- Ordering by name.
CREATE INDEX clients_account_name ON clients (account_id, last_name, first_name);
