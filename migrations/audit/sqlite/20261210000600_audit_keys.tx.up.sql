-- As on PostgreSQL: account_id becomes NOT NULL, with UNIQUE (account_id, id)
-- beside the rowid key (docs/operations.md, Citus), and the failed logins
-- with an email that is nobody's move to audit_events_no_account. SQLite
-- makes a column NOT NULL by rebuilding the table (its triggers and
-- indexes with it); the AUTOINCREMENT counter is carried over.
CREATE TABLE audit_events_no_account (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id    INTEGER,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   INTEGER,
    changes     TEXT NOT NULL DEFAULT '{}',
    request_id  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    at          TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_no_account_at ON audit_events_no_account (at, id);
CREATE TRIGGER audit_events_no_account_no_update BEFORE UPDATE ON audit_events_no_account
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_account_no_delete BEFORE DELETE ON audit_events_no_account
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
INSERT INTO audit_events_no_account (actor_id, action, object_type, object_id, changes, request_id, ip, at)
SELECT actor_id, action, object_type, object_id, changes, request_id, ip, at FROM audit_events WHERE account_id IS NULL ORDER BY id;
ALTER TABLE audit_events RENAME TO audit_events_old;
DROP INDEX audit_events_account_at;
DROP INDEX audit_events_account_actor;
DROP INDEX audit_events_account_object;
DROP INDEX audit_events_account_action;
DROP TRIGGER audit_events_no_update;
DROP TRIGGER audit_events_no_delete;
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    actor_id    INTEGER,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   INTEGER,
    changes     TEXT NOT NULL DEFAULT '{}',
    request_id  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    at          TIMESTAMP NOT NULL,
    UNIQUE (account_id, id)
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_events', seq FROM sqlite_sequence WHERE name = 'audit_events_old';
INSERT INTO audit_events (id, account_id, actor_id, action, object_type, object_id, changes, request_id, ip, at)
SELECT id, account_id, actor_id, action, object_type, object_id, changes, request_id, ip, at FROM audit_events_old WHERE account_id IS NOT NULL;
DROP TABLE audit_events_old;
CREATE INDEX audit_events_account_at ON audit_events (account_id, at, id);
CREATE INDEX audit_events_account_actor ON audit_events (account_id, actor_id, at);
CREATE INDEX audit_events_account_object ON audit_events (account_id, object_type, object_id, at);
CREATE INDEX audit_events_account_action ON audit_events (account_id, action, at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
