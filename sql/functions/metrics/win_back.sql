-- Refreshes public.win_back_priority_queue (sql/views/win_back_priority_queue.sql) without
-- blocking its readers. Called by the pg_cron job conductor_refresh_win_back and after a nightly
-- refresh that changed customers. Writes: the materialized view.
create function conductor.refresh_win_back()
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- the queue's live fallbacks are costed per row, which would trigger JIT compilation (seconds)
-- for a query that runs in a few hundred milliseconds
set jit = off
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

-- Brings both materialized views up to the caller's transaction: the end of every
-- conductor.import_all and conductor.rebuild_all, and the demo load, call it so the win-back queue
-- and the activity timeline hold what was just loaded (not the state of the last hourly run).
-- It waits for a running refresh instead of skipping (the cron jobs skip while it holds the locks).
-- Writes: public.win_back_priority_queue, public.customer_activity_timeline.
create function conductor.refresh_materialized_views()
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
language plpgsql
as $$
begin
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_win_back'));
    refresh materialized view concurrently public.win_back_priority_queue;
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_activity_timeline'));
    -- CONCURRENTLY needs a populated view; one created WITH NO DATA is filled the plain way once.
    if (
        select c.relispopulated from pg_catalog.pg_class as c
        where c.oid = 'public.customer_activity_timeline'::regclass
    ) then
        refresh materialized view concurrently public.customer_activity_timeline;
    else
        refresh materialized view public.customer_activity_timeline;
    end if;
end
$$;
comment on function conductor.refresh_materialized_views() is
'Refreshes public.win_back_priority_queue and public.customer_activity_timeline (concurrently: readers are '
'not blocked) as of the caller''s transaction, waiting for a refresh already running. Called at the end of '
'conductor.import_all and conductor.rebuild_all and by the demo load.';
