-- A session's key includes its account (docs/operations.md, Citus: the
-- primary key of a table distributed by account_id must include it). Every
-- read of a session names its account: the token carries it.
SELECT crm_key_by_account('sessions');
