CREATE TABLE employees (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email         TEXT NOT NULL CHECK (email = lower(email)),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    job_role      TEXT NOT NULL DEFAULT '',
    phone_number  TEXT NOT NULL DEFAULT '',
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    permissions   TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL,
    date_joined   TIMESTAMP NOT NULL,
    last_login    TIMESTAMP,
    UNIQUE (account_id, id)
);
--bun:split
CREATE UNIQUE INDEX employees_email_key ON employees (email);
--bun:split
CREATE INDEX employees_account_joined ON employees (account_id, date_joined);
--bun:split
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    employee_id INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    ip          TEXT NOT NULL DEFAULT '',
    FOREIGN KEY (account_id, employee_id) REFERENCES employees (account_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX sessions_employee ON sessions (account_id, employee_id) WHERE revoked_at IS NULL;
--bun:split
CREATE TABLE login_failures (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at  TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX login_failures_key_at ON login_failures (key, at);
