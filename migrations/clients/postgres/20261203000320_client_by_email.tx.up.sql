-- The client of the request's account with an email, whatever its case, for
-- the Stripe events that name a customer by email only. As crm_app, the
-- plain query (lower(email) = …) could not use clients_account_email_key:
-- lower is not leakproof, so under row-level security it was a scan of the
-- account (one million clients: 420 ms per event). This runs it as the
-- owner, where the unique index answers, scoped by app.account_id like the
-- policies (no account set: NULL). Only crm_app may call it.
CREATE FUNCTION crm_client_by_email(address text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT id FROM public.clients
    WHERE account_id = (SELECT NULLIF(current_setting('app.account_id', true), '')::bigint)
      AND lower(email) = lower(address)
$$;
REVOKE EXECUTE ON FUNCTION crm_client_by_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_client_by_email(text) TO crm_app;
