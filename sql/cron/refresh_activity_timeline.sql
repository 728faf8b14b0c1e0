-- conductor_refresh_activity_timeline: refreshes public.customer_activity_timeline concurrently
-- every hour (get_customer_timeline reads what changed since from the base tables, so the
-- AI is never behind; the hourly refresh keeps that part small).
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_refresh_activity_timeline', '25 * * * *', 'select conductor.refresh_activity_timeline()');

-- conductor_refresh_stale_activity_timeline: every minute, refreshes the timeline when a repair
-- (conductor.rebuild_all) marked it stale; get_customer_timeline reads the base tables meanwhile.
insert into conductor_cron_jobs (job_name, schedule, command)
values (
    'conductor_refresh_stale_activity_timeline', '* * * * *',
    'select conductor.refresh_stale_activity_timeline()'
);
