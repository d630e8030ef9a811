-- PostgreSQL only: SQLite has one writer at a time, so its totals have no
-- hot row to spread (readers sum over the rows of a total either way).
SELECT 1;
