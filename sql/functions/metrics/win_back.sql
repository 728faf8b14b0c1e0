-- Refreshes public.win_back_priority_queue (sql/views/win_back_priority_queue.sql) without
-- blocking its readers. Called by the pg_cron job conductor_refresh_win_back and after a nightly
-- refresh that changed customers. Writes: the materialized view.
create function conductor.refresh_win_back()
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if not pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_win_back')) then
        return false;
    end if;
    refresh materialized view concurrently public.win_back_priority_queue;
    return true;
end
$$;
comment on function conductor.refresh_win_back() is
'pg_cron job conductor_refresh_win_back: REFRESH MATERIALIZED VIEW CONCURRENTLY '
'public.win_back_priority_queue. Returns false at once (doing nothing) while another refresh holds its '
'advisory lock, true after refreshing.';
