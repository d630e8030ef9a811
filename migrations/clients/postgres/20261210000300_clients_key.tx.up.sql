-- A client's key is (account_id, id) (docs/operations.md, Citus: the primary
-- key of a table distributed by account_id must include it), in place of
-- the key on id and UNIQUE (account_id, id). The foreign keys of the billing
-- and catalog tables move onto it unchanged (no action on delete: a client
-- with billing rows cannot be deleted).
SELECT crm_key_by_account('clients');
