-- PostgreSQL only (the search under row-level security); nothing to do on SQLite.
SELECT 1;
