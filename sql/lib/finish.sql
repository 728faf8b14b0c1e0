-- Closes every install: registers the code objects this install created in public, and
-- records the installed version. Writes: conductor.package_objects, conductor.installed_versions.
-- A re-install leaves the row of every object it created again untouched (registered_at keeps the
-- first install's time); only objects it no longer creates lose their rows, and new ones gain one.
with created as (
    select
        'function' as object_kind,
        p.oid::regprocedure::text as object_identity
    from pg_catalog.pg_proc as p
    where p.pronamespace = 'public'::regnamespace
    union
    select
        case c.relkind when 'v' then 'view' else 'materialized view' end as object_kind,
        c.oid::regclass::text as object_identity
    from pg_catalog.pg_class as c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
    except
    select
        object_kind,
        object_identity
    from conductor_public_before
),

gone as (
    delete from conductor.package_objects as o
    where
        o.object_kind <> 'table'
        and not exists (
            select from created as c
            where c.object_kind = o.object_kind and c.object_identity = o.object_identity
        )
)

insert into conductor.package_objects (object_kind, object_identity)
select
    object_kind,
    object_identity
from created
on conflict do nothing;

insert into conductor.installed_versions (version) values (:'conductor_version')
on conflict (version) do nothing;
