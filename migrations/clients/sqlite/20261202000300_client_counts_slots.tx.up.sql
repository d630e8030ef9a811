-- PostgreSQL only: SQLite has one writer at a time, so its counters have
-- no hot row to spread (readers sum over the rows of a counter either way).
SELECT 1;
