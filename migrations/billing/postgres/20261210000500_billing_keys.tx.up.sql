-- The keys of payments, instalments and Stripe customers are
-- (account_id, id) (docs/operations.md, Citus: the primary key of a table
-- distributed by account_id must include it), in place of the keys on id
-- and UNIQUE (account_id, id).
SELECT crm_key_by_account('payments');
--bun:split
SELECT crm_key_by_account('instalments');
--bun:split
SELECT crm_key_by_account('stripe_customers');
