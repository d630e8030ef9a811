-- PostgreSQL only (crm_key_by_account); SQLite keeps the rowid key.
SELECT 1;
