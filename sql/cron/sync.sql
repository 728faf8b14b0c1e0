-- Makes pg_cron's job list match conductor_cron_jobs: cron.schedule is an upsert by job name,
-- so installing twice changes nothing; conductor_* jobs no longer wanted are unscheduled.
-- Where pg_cron is not installed in this database (it lives in one database per cluster) the
-- install creates it when this is the cron database, and otherwise skips scheduling with a
-- notice. Never writes cron.job directly (Supabase forbids it).
do $sync$
declare
    v_job record;
begin
    if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron')
        and exists (select from pg_catalog.pg_available_extensions where name = 'pg_cron')
        and current_setting('cron.database_name', true) = current_database() then
        create extension pg_cron with schema pg_catalog;
    end if;
    if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
        raise notice 'pg_cron is not installed in database %: no jobs scheduled', current_database();
        return;
    end if;
    for v_job in select job_name, schedule, command from conductor_cron_jobs order by job_name loop
        perform cron.schedule(v_job.job_name, v_job.schedule, v_job.command);
    end loop;
    for v_job in
        select j.jobid
        from cron.job as j
        where j.jobname like 'conductor\_%'
            and j.jobname not in (select job_name from conductor_cron_jobs)
    loop
        perform cron.unschedule(v_job.jobid);
    end loop;
end
$sync$;
