-- conductor_refresh_customer_context: every minute, builds the ready-made AI context of up to
-- 5,000 customers whose row a sale (or any other change) made stale, so get_customer_insights
-- reads one row for nearly everyone; the rest are computed live until the next run.
insert into conductor_cron_jobs (job_name, schedule, command)
values (
    'conductor_refresh_customer_context', '* * * * *', 'select conductor.refresh_customer_context(5000)'
);
