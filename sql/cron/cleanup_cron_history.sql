-- conductor_cleanup_cron_history: every night at 03:35 UTC, cron.job_run_details older than
-- the cron_history_retention_days setting is deleted.
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_cleanup_cron_history', '35 3 * * *', 'select conductor.cleanup_cron_history()');
