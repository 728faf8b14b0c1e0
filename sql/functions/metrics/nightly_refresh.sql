-- The clock-dependent values: days since the last visit, churn risk, RFM recency and with it the
-- lead score and segment (public.customers), and the deviation from the predicted next visit
-- (public.customer_visit_patterns). They change when the store's date turns, so pg_cron runs
-- conductor.nightly_refresh (sql/cron/nightly_refresh.sql); only rows whose values change are
-- written, so a run on a day already refreshed writes nothing. The views and RPCs compute these
-- values against today themselves and never serve a stale one.
-- Reads: customers, customer_visit_patterns, thresholds. Writes: those two tables, the win-back queue.
create function conductor.nightly_refresh()
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_customers integer;
    v_patterns integer;
begin
    if not pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor nightly_refresh')) then
        return jsonb_build_object('ran', false, 'reason', 'another nightly_refresh is running');
    end if;
    -- Thresholds edited with triggers off would otherwise never reach the cached bands.
    refresh materialized view conductor.score_bands;
    analyze conductor.score_bands;
    refresh materialized view conductor.score_band_steps;
    analyze conductor.score_band_steps;
    v_customers := conductor.refresh_scores();
    v_patterns := conductor.refresh_visit_deviation();
    if v_customers > 0 then
        -- the day's turn changed nearly every queued row: a plain refresh is cheaper than the diff
        perform conductor.refresh_win_back_queue(p_concurrently => false);
    end if;
    return jsonb_build_object(
        'ran', true,
        'as_of_date', conductor.store_today(),
        'customers', v_customers,
        'customer_visit_patterns', v_patterns
    );
end
$$;
comment on function conductor.nightly_refresh() is
'pg_cron job conductor_nightly_refresh: brings the clock-dependent customer values and visit deviations '
'to the store''s today, writing only rows that change, then refreshes the win-back queue if customers '
'changed. Returns immediately with ran = false while another run holds its advisory lock.';
