-- conductor_refresh_win_back: refreshes public.win_back_priority_queue concurrently every hour,
-- ten minutes after conductor_nightly_refresh (which also refreshes it when the day's values change).
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_refresh_win_back', '15 * * * *', 'select conductor.refresh_win_back()');
