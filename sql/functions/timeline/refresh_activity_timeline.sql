-- Refreshes public.customer_activity_timeline without blocking its readers. Called by the
-- pg_cron job conductor_refresh_activity_timeline (hourly) and, after a repair, by
-- conductor_refresh_stale_activity_timeline (checks every minute).
-- Reads: conductor.stale_materialized_views. Writes: the materialized view, its stale mark.
create function conductor.refresh_activity_timeline()
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_mark timestamptz;
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_activity_timeline')) then
        raise notice 'conductor_refresh_activity_timeline: another refresh is running; skipped';
        return false;
    end if;
    -- The repair mark seen before the refresh began: a repair committed later stays marked.
    select s.marked_at into v_mark
    from conductor.stale_materialized_views as s
    where s.view_name = 'public.customer_activity_timeline';
    -- CONCURRENTLY needs a populated view; one created WITH NO DATA is filled the plain way once.
    if (
        select c.relispopulated from pg_catalog.pg_class as c
        where c.oid = 'public.customer_activity_timeline'::regclass
    ) then
        refresh materialized view concurrently public.customer_activity_timeline;
    else
        refresh materialized view public.customer_activity_timeline;
    end if;
    delete from conductor.stale_materialized_views as s
    where s.view_name = 'public.customer_activity_timeline' and s.marked_at = v_mark;
    return true;
end
$$;
comment on function conductor.refresh_activity_timeline() is
'pg_cron job conductor_refresh_activity_timeline: REFRESH MATERIALIZED VIEW CONCURRENTLY '
'public.customer_activity_timeline, and clears a repair''s stale mark it saw before it began. Returns false '
'at once (doing nothing) while another refresh holds its advisory lock, true after refreshing.';

-- Refreshes the timeline only when a repair marked it stale (conductor.rebuild_all). Called every
-- minute by the pg_cron job conductor_refresh_stale_activity_timeline; reads one row otherwise.
-- Reads: conductor.stale_materialized_views. Writes: through refresh_activity_timeline.
create function conductor.refresh_stale_activity_timeline()
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if not exists (
        select from conductor.stale_materialized_views as s
        where s.view_name = 'public.customer_activity_timeline'
    ) then
        return false;
    end if;
    return conductor.refresh_activity_timeline();
end
$$;
comment on function conductor.refresh_stale_activity_timeline() is
'pg_cron job conductor_refresh_stale_activity_timeline: refreshes public.customer_activity_timeline '
'(conductor.refresh_activity_timeline) when a repair marked it stale. Returns true after refreshing, false '
'when it was not marked or another refresh is running.';
