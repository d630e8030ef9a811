-- The trigram index of the search without its pending list: with fastupdate
-- (GIN's default) each new client goes to a list that every search scans
-- in full until VACUUM merges it (after a few thousand creates, 11 ms of a
-- 14 ms search); without it, a create writes its trigrams into the index
-- at once and a search reads only the index.
ALTER INDEX clients_search_trgm SET (fastupdate = off);
