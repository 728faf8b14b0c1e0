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
