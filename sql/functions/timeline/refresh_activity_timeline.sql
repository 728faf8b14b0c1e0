-- Refreshes public.customer_activity_timeline without blocking its readers. Called by the
-- pg_cron job conductor_refresh_activity_timeline. Writes: the materialized view.
create function conductor.refresh_activity_timeline()
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_activity_timeline')) then
        raise notice 'conductor_refresh_activity_timeline: another refresh is running; skipped';
        return false;
    end if;
    -- CONCURRENTLY needs a populated view; one created WITH NO DATA is filled the plain way once.
    if (
        select c.relispopulated from pg_catalog.pg_class as c
        where c.oid = 'public.customer_activity_timeline'::regclass
    ) then
        refresh materialized view concurrently public.customer_activity_timeline;
    else
        refresh materialized view public.customer_activity_timeline;
    end if;
    return true;
end
$$;
comment on function conductor.refresh_activity_timeline() is
'pg_cron job conductor_refresh_activity_timeline: REFRESH MATERIALIZED VIEW CONCURRENTLY '
'public.customer_activity_timeline. Returns false at once (doing nothing) while another refresh holds its '
'advisory lock, true after refreshing.';
