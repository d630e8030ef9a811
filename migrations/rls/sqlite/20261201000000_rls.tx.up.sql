-- SQLite has no row-level security: tenant.Scope is the guard there (the
-- PostgreSQL file of this migration sets up the second guard).
SELECT 1;
