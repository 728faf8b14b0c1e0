-- Keeps cron.job_run_details from growing forever (pg_cron never prunes it): deletes finished
-- runs older than the cron_history_retention_days setting. Works with pg_cron 1.4 (Debian)
-- and 1.6 (Supabase), whose job_run_details have the same columns; does nothing where pg_cron
-- is not installed. Runs as the role that scheduled the job: pg_cron's row level security
-- (username = current_user) limits it to that role's runs, which on Supabase are the postgres
-- role's, i.e. every job created from migrations and the SQL editor. Called by the pg_cron job
-- conductor_cleanup_cron_history. Reads: conductor.settings. Writes: cron.job_run_details.
create function conductor.cleanup_cron_history()
returns bigint
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_days integer;
    v_count bigint;
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor cleanup_cron_history')) then
        raise notice 'conductor_cleanup_cron_history: another cleanup is running; skipped';
        return 0;
    end if;
    if pg_catalog.to_regclass('cron.job_run_details') is null then
        return 0;
    end if;
    v_days := (conductor.setting('cron_history_retention_days') #>> '{}')::integer;
    if v_days is null or v_days < 1 then
        raise exception 'setting cron_history_retention_days: a whole number of days >= 1 is required, not %',
            conductor.setting('cron_history_retention_days')
            using errcode = '22023';
    end if;
    -- Runs still starting or running are kept whatever their age; a run that never recorded its
    -- end (the server restarted under it) is aged by its start.
    delete from cron.job_run_details as d
    where
        d.status not in ('starting', 'running', 'connecting', 'sending')
        and coalesce(d.end_time, d.start_time) < pg_catalog.now() - pg_catalog.make_interval(days => v_days);
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function conductor.cleanup_cron_history() is
'pg_cron job conductor_cleanup_cron_history: deletes finished runs in cron.job_run_details older than the '
'cron_history_retention_days setting and returns how many; 0 without pg_cron or while another cleanup '
'holds its advisory lock.';
