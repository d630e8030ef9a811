-- The keys of packages and client packages are (account_id, id)
-- (docs/operations.md, Citus: the primary key of a table distributed by
-- account_id must include it), in place of the keys on id and
-- UNIQUE (account_id, id). The client packages' foreign key to packages
-- moves onto the new key unchanged (a package in use cannot be deleted);
-- UNIQUE (account_id, client_id, id), which the instalments reference, stays.
SELECT crm_key_by_account('packages');
--bun:split
SELECT crm_key_by_account('client_packages');
