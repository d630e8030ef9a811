-- The trigram index of the search with a small pending list. fastupdate off
-- (20261126000310) made every create write each of its trigrams into the
-- index at once; GIN's default pending list (4 MB) made every search scan up
-- to thousands of unmerged entries. 128 kB is about a hundred clients: a
-- create appends its entries to the list, and the create that fills it merges
-- the list into the index in one sorted pass; a search scans at most those
-- hundred. Measured (standard dataset, 32 connections): create_client 1.38-1.45
-- -> 1.15-1.25 ms of CPU per request, list_clients_search unchanged
-- (1,263-1,293 req/s).
ALTER INDEX clients_search_trgm SET (fastupdate = on, gin_pending_list_limit = 128);
