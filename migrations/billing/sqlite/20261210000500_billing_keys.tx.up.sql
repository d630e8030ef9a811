-- Nothing to do on SQLite: the key stays the rowid (id INTEGER PRIMARY KEY,
-- the id generator), and UNIQUE (account_id, id) beside it is the target of
-- the composite foreign keys already.
SELECT 1;
