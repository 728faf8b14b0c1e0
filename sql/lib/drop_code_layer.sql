-- Drops the stateless layer so the install can re-create it exactly: every function and view
-- in `conductor`, and the functions, views and materialized views the previous install
-- registered in public. Triggers and policies go with their functions (cascade). Tables,
-- their rows, settings and cron history are never touched here, nor the registry's rows:
-- lib/finish.sql brings them up to date (uninstall.sql deletes them).
do $drop$
declare
    v_object record;
    v_statement text;
begin
    for v_object in
        select object_kind, object_identity
        from conductor.package_objects
        where object_kind <> 'table'
        order by object_kind desc
    loop
        execute format(
            'drop %s if exists %s cascade',
            v_object.object_kind,
            v_object.object_identity
        );
    end loop;

    -- Every statement is written before the first runs: a cascade may drop objects listed later,
    -- whose names could no longer be looked up from their oids.
    foreach v_statement in array array(
        select
            format(
                'drop %s if exists %s cascade',
                case c.relkind when 'v' then 'view' else 'materialized view' end,
                c.oid::regclass::text
            )
        from pg_catalog.pg_class as c
        where c.relnamespace = 'conductor'::regnamespace and c.relkind in ('v', 'm')
        union all
        select
            format(
                'drop %s if exists %s cascade',
                case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
                p.oid::regprocedure::text
            )
        from pg_catalog.pg_proc as p
        where p.pronamespace = 'conductor'::regnamespace
    ) loop
        execute v_statement;
    end loop;
end
$drop$;

-- Objects in public that exist now belong to somebody else; whatever the install adds to
-- public from here on is registered as the package's by lib/finish.sql.
create temporary table conductor_public_before on commit drop as
select
    'function' as object_kind,
    p.oid::regprocedure::text as object_identity
from pg_catalog.pg_proc as p
where p.pronamespace = 'public'::regnamespace
union all
select
    case c.relkind when 'v' then 'view' else 'materialized view' end as object_kind,
    c.oid::regclass::text as object_identity
from pg_catalog.pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm');
