-- Privileges, applied last and all in one place. Safe by default on Supabase: anon and
-- authenticated get nothing (whatever default privileges granted them), service_role (what n8n
-- uses) gets the package's tables, views and RPC functions in public, and nobody but the owner
-- reaches the conductor schema. Reads: conductor.package_objects.
revoke all on schema conductor from public, anon, authenticated, service_role;
revoke all on all tables in schema conductor from public, anon, authenticated, service_role;
revoke all on all sequences in schema conductor from public, anon, authenticated, service_role;
revoke all on all functions in schema conductor from public, anon, authenticated, service_role;

do $grants$
declare
    v_object record;
    v_sequence text;
begin
    for v_object in
        select object_kind, object_identity
        from conductor.package_objects
        where object_kind <> 'function' and object_identity like 'public.%'
    loop
        execute format('revoke all on table %s from public, anon, authenticated', v_object.object_identity);
        if v_object.object_kind = 'table' then
            execute format(
                'grant select, insert, update, delete on table %s to service_role', v_object.object_identity
            );
            for v_sequence in
                select pg_catalog.pg_get_serial_sequence(v_object.object_identity, a.attname)
                from pg_catalog.pg_attribute as a
                where a.attrelid = v_object.object_identity::regclass and a.attidentity <> ''
            loop
                execute format('revoke all on sequence %s from public, anon, authenticated', v_sequence);
                execute format('grant usage, select on sequence %s to service_role', v_sequence);
            end loop;
        else
            execute format('revoke all on table %s from service_role', v_object.object_identity);
            execute format('grant select on table %s to service_role', v_object.object_identity);
        end if;
    end loop;

    for v_object in
        select object_identity from conductor.package_objects where object_kind = 'function'
    loop
        execute format(
            'revoke all on function %s from public, anon, authenticated', v_object.object_identity
        );
        execute format('grant execute on function %s to service_role', v_object.object_identity);
    end loop;
end
$grants$;

-- The modem bridge: a NOLOGIN role with USAGE on conductor and EXECUTE on exactly the functions
-- of the bridge <-> SQL contract (all SECURITY DEFINER with search_path pg_catalog, pg_temp). An operator runs the
-- bridge as a login role granted conductor_bridge instead of the owner. Cluster-wide like the
-- Supabase roles: created when missing, kept by uninstall.
do $bridge_role$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'conductor_bridge') then
        create role conductor_bridge nologin;
        comment on role conductor_bridge is
        'Conductor modem bridge: may call the conductor.bridge_* functions and nothing else.';
    end if;
end
$bridge_role$;
revoke all on all tables in schema conductor from conductor_bridge;
revoke all on all sequences in schema conductor from conductor_bridge;
revoke all on all functions in schema conductor from conductor_bridge;
grant usage on schema conductor to conductor_bridge;
grant execute on function
conductor.bridge_hello(text, text, text, text),
conductor.bridge_store_inbound(text, text, text, timestamptz, integer, smallint, text[]),
conductor.bridge_stored_parts(text, text[]),
conductor.bridge_claim_outbound(text),
conductor.bridge_next_due_at(),
conductor.bridge_mark_sent(text, bigint, integer, smallint),
conductor.bridge_mark_failed(text, bigint, text, text),
conductor.bridge_mark_unknown(text, bigint, text),
conductor.bridge_heartbeat(text, text, text, smallint, text, integer, integer)
to conductor_bridge;

-- public.customer_purchase_history and public.customer_spending_analysis (security_invoker views
-- service_role reads) call this function for the store's time zone, today and the trend
-- settings: service_role may execute it. It is security definer and returns those values only.
grant execute on function conductor.reporting_parameters() to service_role;
