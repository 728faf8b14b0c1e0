-- The pg_cron jobs this install wants; each file in sql/cron adds its job here and
-- sql/cron/sync.sql makes cron.job match.
create temporary table conductor_cron_jobs (
    job_name text primary key,
    schedule text not null,
    command text not null
) on commit drop;
