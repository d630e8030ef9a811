-- Client counts by status, kept by triggers in the transaction of every write
-- to clients (the API, the Stripe webhook, seeds, bulk loads), so the
-- statistics and the unfiltered counts of the list read a few rows instead
-- of scanning the account's clients. employee_id 0 counts every client of
-- the account; any other employee_id counts the clients that employee
-- coaches, closes or sets (once each, whatever the number of roles), which
-- is what the assigned-only scope reads. (SQLite has one writer at a time,
-- so row triggers are exact; PostgreSQL's version is statement-level.)
CREATE TABLE client_counts (
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    employee_id INTEGER NOT NULL,
    status      TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (account_id, employee_id, status)
) WITHOUT ROWID;
--bun:split
CREATE TRIGGER clients_count_insert AFTER INSERT ON clients BEGIN
    INSERT INTO client_counts (account_id, employee_id, status, n)
    SELECT NEW.account_id, e, NEW.status, 1
      FROM (SELECT 0 AS e UNION SELECT NEW.coach_id UNION SELECT NEW.closer_id UNION SELECT NEW.setter_id)
     WHERE e IS NOT NULL
    ON CONFLICT (account_id, employee_id, status) DO UPDATE SET n = n + 1;
END;
--bun:split
CREATE TRIGGER clients_count_delete AFTER DELETE ON clients BEGIN
    UPDATE client_counts SET n = n - 1
     WHERE account_id = OLD.account_id AND status = OLD.status
       AND employee_id IN (0, OLD.coach_id, OLD.closer_id, OLD.setter_id);
END;
--bun:split
-- Only an update of the status, the assignment or the account changes the
-- counts: the old row's go down, the new row's up.
CREATE TRIGGER clients_count_update AFTER UPDATE OF account_id, status, coach_id, closer_id, setter_id ON clients
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.status IS NOT NEW.status OR OLD.coach_id IS NOT NEW.coach_id
  OR OLD.closer_id IS NOT NEW.closer_id OR OLD.setter_id IS NOT NEW.setter_id
BEGIN
    UPDATE client_counts SET n = n - 1
     WHERE account_id = OLD.account_id AND status = OLD.status
       AND employee_id IN (0, OLD.coach_id, OLD.closer_id, OLD.setter_id);
    INSERT INTO client_counts (account_id, employee_id, status, n)
    SELECT NEW.account_id, e, NEW.status, 1
      FROM (SELECT 0 AS e UNION SELECT NEW.coach_id UNION SELECT NEW.closer_id UNION SELECT NEW.setter_id)
     WHERE e IS NOT NULL
    ON CONFLICT (account_id, employee_id, status) DO UPDATE SET n = n + 1;
END;
--bun:split
-- Counts for the clients that exist already (each employee once per client).
INSERT INTO client_counts (account_id, employee_id, status, n)
SELECT account_id, e, status, count(*)
  FROM (SELECT account_id, status, 0 AS e FROM clients
        UNION ALL
        SELECT account_id, status, coach_id FROM clients WHERE coach_id IS NOT NULL
        UNION ALL
        SELECT account_id, status, closer_id FROM clients WHERE closer_id IS NOT NULL AND closer_id IS NOT coach_id
        UNION ALL
        SELECT account_id, status, setter_id FROM clients
         WHERE setter_id IS NOT NULL AND setter_id IS NOT coach_id AND setter_id IS NOT closer_id)
 GROUP BY account_id, e, status;
