-- Opens every install and uninstall: one lock so two deploys never interleave, the private
-- schema `conductor` with the package registry, and the Supabase API roles when a plain
-- PostgreSQL lacks them; the install's helpers (pg_temp.claim_table, pg_temp.add_check).
-- Writes: conductor.package_objects (created if missing).
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

-- Adds a package CHECK constraint to a table that may already hold rows, convergently: added when
-- missing, validated when every stored row passes, never failing the install over old data.
-- p_business_key: an expression over the row (alias t) naming it in a data issue.
-- p_clear_set: for an optional column, what to set on a stored row that fails the check (the column
-- to null, and any value derived from it); each such value is recorded in conductor.data_issues
-- (action field_cleared) first. Without it the stored rows are kept as they are and the constraint
-- stays NOT VALID (new and changed rows are checked), with a warning; a later install validates it
-- once those rows are fixed.
create function pg_temp.add_check(
    p_table text,
    p_constraint text,
    p_check text,
    p_field text,
    p_business_key text,
    p_clear_set text default null
) returns void
language plpgsql as $add_check$
declare
    v_table regclass := p_table::regclass;
    v_validated boolean;
    v_failing bigint;
begin
    select c.convalidated into v_validated
    from pg_catalog.pg_constraint as c
    where c.conrelid = v_table and c.conname = p_constraint;
    if v_validated then
        return;
    end if;
    if v_validated is null then
        if p_clear_set is not null then
            if to_regclass('conductor.data_issues') is not null then
                execute format(
                    'insert into conductor.data_issues (entity, business_key, field, bad_value, problem, action) '
                    'select %L, %s, %L, t.%I::text, %L, ''field_cleared'' from %s as t where not (%s)',
                    split_part(p_table, '.', 2), p_business_key, p_field, p_field,
                    format('%s is outside the plausible range (check %s); cleared on upgrade', p_field, p_constraint),
                    v_table, p_check
                );
            end if;
            execute format('update %s set %s where not (%s)', v_table, p_clear_set, p_check);
        end if;
        execute format('alter table %s add constraint %I check (%s) not valid', v_table, p_constraint, p_check);
    end if;
    execute format('select count(*) from %s where not (%s)', v_table, p_check) into v_failing;
    if v_failing = 0 then
        execute format('alter table %s validate constraint %I', v_table, p_constraint);
    else
        raise warning using
            message = format(
                '%s stored row(s) of %s fail check constraint %s (%s): kept as they are; the constraint checks '
                'new and changed rows and the next install validates it once they are fixed',
                v_failing, v_table, p_constraint, p_field
            ),
            hint = format('select * from %s where not (%s);', v_table, p_check);
    end if;
end
$add_check$;
