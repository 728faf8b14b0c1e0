-- conductor_fit_lifetime_value_models: fits the BG/NBD and Gamma-Gamma models on the day's data
-- and recomputes public.customer_lifetime_value. pg_cron schedules in UTC while the store's
-- midnight depends on its time zone, so the job runs every hour: the first run after the store's
-- midnight fits, the later runs of that day find the day fitted and return at once.
insert into conductor_cron_jobs (job_name, schedule, command)
values (
    'conductor_fit_lifetime_value_models', '45 * * * *',
    'select conductor.fit_lifetime_value_models(p_only_if_stale => true)'
);
