-- Row-level security, the second tenancy guard (docs/security.md). The
-- owner (the role that migrates, here current_user) owns the tables; the API
-- serves as crm_app (CRM_DB_APP_ROLE: every connection of its pool runs
-- SET ROLE crm_app), which does not own them, cannot bypass row-level
-- security, and sees and writes only the rows of the account its request
-- set (set_config('app.account_id', …, true) in the request's transaction).
--
-- Roles are cluster-wide: databases migrated side by side (tests) may
-- create or grant the role at the same moment, so "already there" errors are
-- ignored.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_app') THEN
        BEGIN
            CREATE ROLE crm_app NOLOGIN NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'crm_app', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT crm_app TO %I', current_user);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;
--bun:split
-- crm_enable_rls puts the guard on every table of the schema with an
-- account_id column (and on accounts, by its id): ENABLE and FORCE ROW LEVEL
-- SECURITY (FORCE: the owner is no exception unless a policy says so), the
-- policy tenant_isolation for crm_app (USING and WITH CHECK: the row's
-- account is the request's; no account set matches no row), the policy
-- owner_all for the table's owner, and crm_app's privileges. audit_events
-- is append-only for crm_app (SELECT, INSERT), accounts are read and renamed
-- (SELECT, UPDATE). Tables without an account (login_failures, the
-- migrator's) get nothing: only the owner uses them.
--
-- `crm migrate` and serve's auto-migrate call it after every migration run,
-- so tables that later migrations add are covered without a line here. It
-- only adds what is missing: a run that finds everything in place takes no
-- lock and changes nothing.
CREATE OR REPLACE FUNCTION crm_enable_rls() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t     record;
    seq   record;
    privs text[];
    p     text;
    cond  text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_app' AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role crm_app must not bypass row-level security (ALTER ROLE crm_app NOSUPERUSER NOBYPASSRLS)';
    END IF;
    FOR t IN
        SELECT c.oid, c.relname, pg_get_userbyid(c.relowner) AS owner, c.relrowsecurity, c.relforcerowsecurity,
               CASE WHEN c.relname = 'accounts' THEN 'id' ELSE 'account_id' END AS col
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema()
          AND c.relkind IN ('r', 'p')
          AND (c.relname = 'accounts' OR EXISTS (
                SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'account_id' AND a.attnum > 0 AND NOT a.attisdropped))
        ORDER BY c.relname
    LOOP
        IF NOT t.relrowsecurity THEN
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
        END IF;
        IF NOT t.relforcerowsecurity THEN
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
        END IF;
        cond := format('%I = NULLIF(current_setting(''app.account_id'', true), '''')::bigint', t.col);
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t.oid AND polname = 'tenant_isolation') THEN
            EXECUTE format('CREATE POLICY tenant_isolation ON %I TO crm_app USING (%s) WITH CHECK (%s)', t.relname, cond, cond);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t.oid AND polname = 'owner_all') THEN
            EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true) WITH CHECK (true)', t.relname, t.owner);
        END IF;
        privs := CASE t.relname
            WHEN 'audit_events' THEN ARRAY['SELECT', 'INSERT']
            WHEN 'accounts' THEN ARRAY['SELECT', 'UPDATE']
            ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] END;
        FOREACH p IN ARRAY privs LOOP
            IF NOT has_table_privilege('crm_app', t.oid, p) THEN
                EXECUTE format('GRANT %s ON %I TO crm_app', p, t.relname);
            END IF;
        END LOOP;
        -- Sequences of the table's columns (identity columns need none,
        -- serial ones do).
        FOR seq IN
            SELECT s.oid, s.relname FROM pg_depend d
            JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            WHERE d.classid = 'pg_class'::regclass AND d.refobjid = t.oid AND d.deptype IN ('a', 'i')
        LOOP
            IF NOT has_sequence_privilege('crm_app', seq.oid, 'USAGE') THEN
                EXECUTE format('GRANT USAGE ON SEQUENCE %I TO crm_app', seq.relname);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
--bun:split
-- Only the owner runs it (functions are executable by PUBLIC by default).
REVOKE EXECUTE ON FUNCTION crm_enable_rls() FROM PUBLIC;
