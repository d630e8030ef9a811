-- A session's key includes its account (docs/operations.md, Citus), as on
-- PostgreSQL. SQLite changes a key by rebuilding the table; nothing
-- references sessions.
ALTER TABLE sessions RENAME TO sessions_old;
DROP INDEX sessions_employee;
CREATE TABLE sessions (
    id          TEXT NOT NULL,
    account_id  INTEGER NOT NULL,
    employee_id INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    ip          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, employee_id) REFERENCES employees (account_id, id) ON DELETE CASCADE
);
INSERT INTO sessions (id, account_id, employee_id, created_at, expires_at, revoked_at, ip)
SELECT id, account_id, employee_id, created_at, expires_at, revoked_at, ip FROM sessions_old;
DROP TABLE sessions_old;
CREATE INDEX sessions_employee ON sessions (account_id, employee_id) WHERE revoked_at IS NULL;
