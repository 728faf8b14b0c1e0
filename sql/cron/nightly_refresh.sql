-- conductor_nightly_refresh: brings the clock-dependent customer values (days since the last
-- visit, churn, RFM recency, lead score and segment, deviation from the predicted visit) to the
-- store's today. pg_cron schedules in UTC while the store's midnight depends on its time zone
-- setting and daylight saving, so the job runs every hour: the first run after the store's
-- midnight writes the day's changes, the other runs find nothing to change and write nothing.
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_nightly_refresh', '5 * * * *', 'select conductor.nightly_refresh()');
