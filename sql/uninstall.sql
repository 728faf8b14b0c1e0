-- Removes what the install created. Always: the code layer (functions, views, triggers) and
-- the conductor_* cron jobs. With -v drop_data=on also the package's tables and the conductor
-- schema. Roles the install created (anon, authenticated, service_role) are cluster-wide and
-- shared with Supabase; they stay.
\set ON_ERROR_STOP on
select pg_advisory_xact_lock(hashtext('conductor install'));

select to_regclass('conductor.package_objects') is not null as installed \gset
\if :installed
\ir lib/drop_code_layer.sql
delete from conductor.package_objects where object_kind <> 'table';
do $unschedule$
begin
    if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
        perform cron.unschedule(j.jobid) from cron.job as j where j.jobname like 'conductor\_%';
    end if;
end
$unschedule$;
\if :drop_data
do $drop_tables$
declare
    v_table text;
begin
    for v_table in
        select object_identity from conductor.package_objects
        where object_kind = 'table' and object_identity like 'public.%'
    loop
        execute format('drop table if exists %s cascade', v_table);
    end loop;
end
$drop_tables$;
drop schema conductor cascade;
\endif
\else
\echo 'Conductor is not installed in this database: nothing to do.'
\endif
