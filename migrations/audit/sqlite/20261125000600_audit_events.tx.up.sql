-- The audit log: one row per recorded change, written in the transaction of
-- the change. account_id is NULL only for a failed login whose email matches
-- no employee; such rows are never listed (every read is scoped to the
-- caller's account). actor_id is NULL when nobody signed in did it (a failed
-- login, the CLI).
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER REFERENCES accounts (id),
    actor_id    INTEGER,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   INTEGER,
    changes     TEXT NOT NULL DEFAULT '{}',
    request_id  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    at          TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX audit_events_account_at ON audit_events (account_id, at, id);
--bun:split
CREATE INDEX audit_events_account_actor ON audit_events (account_id, actor_id, at);
--bun:split
CREATE INDEX audit_events_account_object ON audit_events (account_id, object_type, object_id, at);
--bun:split
CREATE INDEX audit_events_account_action ON audit_events (account_id, action, at);
--bun:split
-- Append-only, whoever asks: an UPDATE or a DELETE of an event fails.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
--bun:split
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
