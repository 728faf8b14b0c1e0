-- Refreshes public.win_back_priority_queue (sql/views/win_back_priority_queue.sql). The pg_cron
-- job conductor_refresh_win_back calls conductor.refresh_win_back, which first brings the stored
-- scores the queue reads to the store's today (a scan that writes nothing when the nightly refresh
-- already did) and refreshes concurrently: readers keep reading the old rows meanwhile, and only
-- the rows that changed are written. The nightly refresh, right after the date turned, changes
-- nearly every row (each one's days and score move), where the concurrent diff costs several times
-- a plain refresh (a new heap and one build per index); it refreshes plainly, and readers wait for
-- it (about a second at 100,000 customers). A reader holding the queue longer than
-- lock_timeout makes it fall back to the concurrent refresh instead of queueing everyone behind it.
-- Writes: customers (scores), the materialized view.
-- work_mem: the queue's sorts and hashes over every lapsed customer stay in memory to about
-- 200,000 customers instead of spilling to disk.
create function conductor.refresh_win_back_queue(p_concurrently boolean default true)
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- the queue's live fallbacks are costed per row, which would trigger JIT compilation (seconds)
-- for a query that runs in a few hundred milliseconds
set jit = off
set work_mem = '64MB'
set lock_timeout = '5s'
language plpgsql
as $$
begin
    if not pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_win_back')) then
        return false;
    end if;
    if not p_concurrently then
        begin
            refresh materialized view public.win_back_priority_queue;
            return true;
        exception when lock_not_available then
            null;  -- a reader holds it: refresh beside the readers instead
        end;
    end if;
    refresh materialized view concurrently public.win_back_priority_queue;
    return true;
end
$$;
comment on function conductor.refresh_win_back_queue(boolean) is
'Refreshes public.win_back_priority_queue from the stored customer scores (callers bring them to today '
'first): concurrently by default (readers are not blocked), plainly with p_concurrently = false (cheaper when '
'most rows change; readers wait, and it falls back to concurrently when a reader holds the view for 5 s). '
'Returns false at once (doing nothing) while another refresh holds its advisory lock, true after refreshing.';

create function conductor.refresh_win_back()
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.refresh_scores();
    return conductor.refresh_win_back_queue(p_concurrently => true);
end
$$;
comment on function conductor.refresh_win_back() is
'pg_cron job conductor_refresh_win_back: brings the stored customer scores to the store''s today '
'(conductor.refresh_scores, writing only rows that change) and refreshes public.win_back_priority_queue '
'concurrently. Returns false (the queue left as it is) while another refresh holds its advisory lock, true '
'after refreshing.';

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
set work_mem = '64MB'
language plpgsql
as $$
begin
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_win_back'));
    -- the callers have just written every customer's scores as of today
    refresh materialized view concurrently public.win_back_priority_queue;
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_activity_timeline'));
    -- its own try-lock succeeds: this transaction holds the lock now
    perform conductor.refresh_activity_timeline();
end
$$;
comment on function conductor.refresh_materialized_views() is
'Refreshes public.win_back_priority_queue and public.customer_activity_timeline (concurrently: readers are '
'not blocked) as of the caller''s transaction, waiting for a refresh already running. Called at the end of '
'conductor.import_all and conductor.rebuild_all and by the demo load.';
