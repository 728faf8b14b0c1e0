-- Closes every install: registers the code objects this install created in public, and
-- records the installed version. Writes: conductor.package_objects, conductor.installed_versions.
insert into conductor.package_objects (object_kind, object_identity)
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
on conflict do nothing;

insert into conductor.installed_versions (version) values (:'conductor_version')
on conflict (version) do nothing;
