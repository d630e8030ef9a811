-- PostgreSQL only (the trigram index of the search); nothing to do on SQLite.
SELECT 1;
