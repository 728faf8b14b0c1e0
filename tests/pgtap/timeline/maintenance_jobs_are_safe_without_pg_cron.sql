-- The functions the pg_cron jobs conductor_refresh_activity_timeline and
-- conductor_cleanup_cron_history call work in a database where pg_cron is not installed (pg_cron
-- lives in one database per cluster): the refresh refreshes, the cleanup does nothing and says
-- so. Both are private (conductor), commented, and reachable by no API role.
begin;
select plan(7);

select is(pg_catalog.to_regclass('cron.job_run_details'), null, 'this database has no pg_cron');
select is(conductor.cleanup_cron_history(), 0::bigint, 'cleanup_cron_history does nothing without pg_cron');
select ok(conductor.refresh_activity_timeline(), 'refresh_activity_timeline refreshes');
select function_returns('conductor', 'cleanup_cron_history', array[]::text[], 'bigint');
select function_returns('conductor', 'refresh_activity_timeline', array[]::text[], 'boolean');
select is_empty(
    $$select p.oid::regprocedure::text from pg_catalog.pg_proc as p
      cross join (values ('anon'), ('authenticated'), ('service_role')) as r (role_name)
      where p.oid in ('conductor.cleanup_cron_history()'::regprocedure, 'conductor.refresh_activity_timeline()'::regprocedure)
        and has_function_privilege(r.role_name, p.oid, 'EXECUTE')$$,
    'no API role can run them'
);
select is(
    (
        select (value #>> '{}')::integer from conductor.settings
        where key = 'cron_history_retention_days'
    ), 14,
    'cron history is kept 14 days by default (setting cron_history_retention_days)'
);

select * from finish();
rollback;
