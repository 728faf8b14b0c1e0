-- Opens every install and uninstall: one lock so two deploys never interleave, the private
-- schema `conductor` with the package registry, and the Supabase API roles when a plain
-- PostgreSQL lacks them. Writes: conductor.package_objects (created if missing).
select pg_advisory_xact_lock(hashtext('conductor install'));

set local client_min_messages = warning;
-- Every name in the package is schema-qualified; an empty search_path proves it, and makes the
-- identities recorded in conductor.package_objects fully qualified.
set local search_path = '';

create schema if not exists conductor;
comment on schema conductor is
'Conductor internals: settings, thresholds, opt-outs, import staging, data issues, bridge health '
'and private functions. PostgREST does not expose this schema; n8n uses the RPC functions in public.';

create table if not exists conductor.package_objects (
    object_kind text not null,
    object_identity text not null,
    registered_at timestamptz not null default now(),
    constraint package_objects_pkey primary key (object_kind, object_identity),
    constraint package_objects_kind_check check (object_kind in ('table', 'function', 'view', 'materialized view'))
);
alter table conductor.package_objects enable row level security;
comment on table conductor.package_objects is
'What the package created: tables (claimed when first created) and code objects in public '
'(registered by each install). Uninstall drops exactly these.';

-- The roles Supabase provides; created here only when missing (plain PostgreSQL).
do $roles$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
end
$roles$;

-- Claims a package table before `create table if not exists`: a table of that name that the
-- package did not create is somebody else's data, and the install stops rather than adopt it.
create function pg_temp.claim_table(p_schema text, p_table text) returns void
language plpgsql as $claim$
declare
    v_identity text := format('%I.%I', p_schema, p_table);
begin
    if to_regclass(v_identity) is not null
        and not exists (
            select from conductor.package_objects
            where object_kind = 'table' and object_identity = v_identity
        ) then
        raise exception 'table % already exists and was not created by Conductor', v_identity
            using errcode = '42P07',
                  hint = 'Rename it (or move it to another schema) and import its rows through '
                         'conductor.import_* after the install.';
    end if;
    insert into conductor.package_objects (object_kind, object_identity)
    values ('table', v_identity)
    on conflict do nothing;
end
$claim$;
