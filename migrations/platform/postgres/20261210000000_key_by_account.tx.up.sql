-- crm_key_by_account(table) makes (account_id, id) the primary key of a
-- table keyed by id (docs/operations.md, Citus: a table distributed by
-- account_id needs it in its primary key). The key on id and
-- UNIQUE (account_id, id), where the table has it, are replaced by the one
-- key. The foreign keys that referenced either, of whichever modules are
-- installed (a module's migrations may run without the others), are dropped
-- first and added back as they were: same name, same definition, now on the
-- new key. A table keyed so already is left as it is. Only the owner runs it.
CREATE FUNCTION crm_key_by_account(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    pk       record;
    uq       record;
    fk       record;
    children regclass[] := '{}';
    names    text[] := '{}';
    defs     text[] := '{}';
    i        int;
BEGIN
    SELECT c.conname, c.conindid, array_agg(a.attname ORDER BY k.n) AS cols INTO pk
      FROM pg_constraint c
      CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k (attnum, n)
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
     WHERE c.conrelid = tbl AND c.contype = 'p'
     GROUP BY c.conname, c.conindid;
    IF pk.cols = ARRAY['account_id', 'id']::name[] THEN
        RETURN;
    END IF;
    IF pk.cols IS DISTINCT FROM ARRAY['id']::name[] THEN
        RAISE EXCEPTION 'crm_key_by_account: % is not keyed by id', tbl;
    END IF;
    SELECT c.conname, c.conindid INTO uq
      FROM pg_constraint c
     WHERE c.conrelid = tbl AND c.contype = 'u'
       AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = tbl AND attname = 'account_id'),
                            (SELECT attnum FROM pg_attribute WHERE attrelid = tbl AND attname = 'id')]::int2[];
    FOR fk IN
        SELECT c.conrelid::regclass AS child, c.conname, pg_get_constraintdef(c.oid) AS def
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.confrelid = tbl AND c.conindid IN (pk.conindid, uq.conindid)
         ORDER BY c.conrelid::regclass::text, c.conname
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.child, fk.conname);
        children := children || fk.child;
        names := names || fk.conname::text;
        defs := defs || fk.def;
    END LOOP;
    IF uq.conname IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, uq.conname);
    END IF;
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD PRIMARY KEY (account_id, id)', tbl, pk.conname);
    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', children[i], names[i], defs[i]);
    END LOOP;
END
$$;
--bun:split
REVOKE EXECUTE ON FUNCTION crm_key_by_account(regclass) FROM PUBLIC;
