-- conductor_record_lead_score_history: the daily lead-score history (segment figures and each
-- customer's changes). Hourly, after conductor_nightly_refresh (minute 5) has brought the scores
-- to the store's today; later runs of the same day only update what changed since.
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_record_lead_score_history', '20 * * * *', 'select conductor.record_lead_score_history()');
