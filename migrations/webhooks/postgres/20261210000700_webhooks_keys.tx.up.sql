-- The keys of webhook endpoints and deliveries are (account_id, id), and a
-- delivery is unique per (account_id, endpoint_id, event_id)
-- (docs/operations.md, Citus: the primary key and unique constraints of a
-- table distributed by account_id must include it). The deliveries'
-- foreign key moves onto the endpoints' new key unchanged (deleting an
-- endpoint deletes its deliveries).
SELECT crm_key_by_account('webhook_endpoints');
--bun:split
SELECT crm_key_by_account('webhook_deliveries');
--bun:split
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_endpoint_id_event_id_key,
    ADD CONSTRAINT webhook_deliveries_account_id_endpoint_id_event_id_key UNIQUE (account_id, endpoint_id, event_id);
