-- Privileges, applied last and all in one place. Whatever the database's default privileges
-- granted (Supabase grants anon, authenticated and service_role everything on new objects in
-- public, and PUBLIC may execute every new function), every package object first loses every
-- privilege of PUBLIC and of the API and bridge roles, then each role gets exactly what it needs:
--   anon, authenticated   nothing;
--   service_role          SELECT, INSERT, UPDATE, DELETE on the public tables it feeds, SELECT on
--                         the derived tables and the views, USAGE and SELECT on their identity
--                         sequences, EXECUTE on the public functions (never TRUNCATE, REFERENCES,
--                         TRIGGER or a sequence's UPDATE: a trigger it attached would run as the
--                         owner whenever the package writes that table);
--   conductor_bridge      USAGE on schema conductor and EXECUTE on the bridge functions.
-- Reads: conductor.package_objects, pg_catalog.

-- The modem bridge: a NOLOGIN role; an operator runs the bridge as a login granted it.
-- Cluster-wide like the Supabase roles: created when missing, kept by uninstall.
do $bridge_role$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'conductor_bridge') then
        create role conductor_bridge nologin;
        comment on role conductor_bridge is
        'Conductor modem bridge: may call the conductor.bridge_* functions and nothing else.';
    end if;
end
$bridge_role$;

do $revoke_everything$
declare
    v_object record;
    v_grantees constant text := 'public, anon, authenticated, service_role, conductor_bridge';
begin
    execute format('revoke all on schema conductor from %s', v_grantees);
    for v_object in
        select
            case when c.relkind = 'S' then 'sequence' else 'table' end as object_kind,
            c.oid::regclass::text as object_identity
        from pg_catalog.pg_class as c
        where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
            and c.relkind in ('r', 'p', 'v', 'm', 'S')
            and not exists (
                select from pg_catalog.pg_depend as d
                where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
            )
            and (
                c.relnamespace = 'conductor'::regnamespace
                or exists (
                    select from conductor.package_objects as o
                    where o.object_kind <> 'function' and o.object_identity = c.oid::regclass::text
                )
                or exists (
                    select from pg_catalog.pg_depend as d
                    join conductor.package_objects as o
                        on o.object_kind = 'table' and o.object_identity = d.refobjid::regclass::text
                    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
                        and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype in ('a', 'i')
                )
            )
    loop
        execute format('revoke all on %s %s from %s', v_object.object_kind, v_object.object_identity, v_grantees);
    end loop;

    for v_object in
        select p.oid::regprocedure::text as object_identity
        from pg_catalog.pg_proc as p
        where p.pronamespace = 'conductor'::regnamespace
            or exists (
                select from conductor.package_objects as o
                where o.object_kind = 'function' and o.object_identity = p.oid::regprocedure::text
            )
    loop
        execute format('revoke all on function %s from %s', v_object.object_identity, v_grantees);
    end loop;
end
$revoke_everything$;

do $grant_service_role$
declare
    v_object record;
    v_sequence text;
    -- Derived data: maintained by the package's triggers and jobs, read by the API.
    v_derived constant text[] := array[
        'public.customer_visit_patterns', 'public.customer_product_affinity', 'public.customer_lifetime_value'
    ];
begin
    for v_object in
        select object_kind, object_identity
        from conductor.package_objects
        where object_kind <> 'function' and object_identity like 'public.%'
    loop
        if v_object.object_kind = 'table' and v_object.object_identity <> all(v_derived) then
            execute format(
                'grant select, insert, update, delete on table %s to service_role', v_object.object_identity
            );
        else
            execute format('grant select on table %s to service_role', v_object.object_identity);
        end if;
        if v_object.object_kind = 'table' then
            for v_sequence in
                select pg_catalog.pg_get_serial_sequence(v_object.object_identity, a.attname)
                from pg_catalog.pg_attribute as a
                where a.attrelid = v_object.object_identity::regclass and a.attidentity <> ''
            loop
                execute format('grant usage, select on sequence %s to service_role', v_sequence);
            end loop;
        end if;
    end loop;

    for v_object in
        select object_identity from conductor.package_objects where object_kind = 'function'
    loop
        execute format('grant execute on function %s to service_role', v_object.object_identity);
    end loop;
end
$grant_service_role$;

-- public.customer_purchase_history and public.customer_spending_analysis (security_invoker views
-- service_role reads) call this function for the store's time zone, today and the trend
-- settings: service_role may execute it. It is security definer and returns those values only.
grant execute on function conductor.reporting_parameters() to service_role;

-- The bridge <-> SQL contract: all SECURITY DEFINER with search_path pg_catalog, pg_temp.
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
