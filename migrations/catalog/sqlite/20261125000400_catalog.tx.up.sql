-- Packages (the account's offerings) and client packages (a package sold to
-- a client). Amounts are integer cents (platform/money): *_cents columns.
-- Dates are YYYY-MM-DD text, so they compare and sort as dates.
CREATE TABLE packages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    package_name TEXT NOT NULL CHECK (length(package_name) BETWEEN 1 AND 150),
    description  TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (account_id, id)
);
--bun:split
-- The account scope with the default ordering (package_name, then id).
CREATE INDEX packages_account_name ON packages (account_id, package_name, id);
--bun:split
CREATE INDEX packages_account_created ON packages (account_id, created_at, id);
--bun:split
CREATE TABLE client_packages (
    id                           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id                   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id                    INTEGER NOT NULL,
    package_id                   INTEGER NOT NULL,
    custom_price_cents           INTEGER NOT NULL CHECK (custom_price_cents >= 0 AND custom_price_cents < 100000000000000),
    monthly_payment_amount_cents INTEGER CHECK (monthly_payment_amount_cents >= 0 AND monthly_payment_amount_cents < 100000000000000),
    payment_schedule             TEXT NOT NULL CHECK (payment_schedule IN ('PIF', 'Monthly', 'Quarterly', 'Yearly')),
    start_date                   TEXT NOT NULL CHECK (start_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    end_date                     TEXT CHECK (end_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND end_date >= start_date),
    status                       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at                   TIMESTAMP NOT NULL,
    updated_at                   TIMESTAMP NOT NULL,
    UNIQUE (account_id, id),
    -- Instalments reference a client package with its client.
    UNIQUE (account_id, client_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id),
    FOREIGN KEY (account_id, package_id) REFERENCES packages (account_id, id)
);
--bun:split
-- The account scope with the default ordering (-created_at, then id).
CREATE INDEX client_packages_account_created ON client_packages (account_id, created_at, id);
--bun:split
-- The client filter, the readable-clients restriction and the foreign key.
CREATE INDEX client_packages_account_client ON client_packages (account_id, client_id, created_at);
--bun:split
-- The package filter, "is this package in use" and the foreign key.
CREATE INDEX client_packages_account_package ON client_packages (account_id, package_id, created_at);
--bun:split
CREATE INDEX client_packages_account_status ON client_packages (account_id, status, created_at);
--bun:split
CREATE INDEX client_packages_account_schedule ON client_packages (account_id, payment_schedule, created_at);
