-- The settings the reporting views need, for readers without access to the conductor schema.
-- public.customer_purchase_history and public.customer_spending_analysis are security_invoker
-- views read by service_role, which cannot read conductor.settings; this function reads the
-- store's time zone and the spending trend settings for them and nothing else (it is security
-- definer, and grants.sql lets service_role execute it). Reads: conductor.settings.
create function conductor.reporting_parameters(
    out time_zone text,
    out today date,
    out trend_window_days integer,
    out trend_change_ratio numeric
)
returns record
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    time_zone := conductor.store_time_zone();
    today := conductor.store_today();
    trend_window_days := (conductor.setting('spending_trend_window_days') #>> '{}')::integer;
    trend_change_ratio := (conductor.setting('spending_trend_change_ratio') #>> '{}')::numeric;
    if trend_window_days is null or trend_window_days < 1 then
        raise exception 'setting spending_trend_window_days: a whole number of days >= 1 is required'
            using errcode = '22023';
    end if;
    if trend_change_ratio is null or trend_change_ratio < 0 then
        raise exception 'setting spending_trend_change_ratio: a fraction >= 0 is required'
            using errcode = '22023';
    end if;
end
$$;
comment on function conductor.reporting_parameters() is
'For the reporting views: the store''s time zone and today there, and the spending trend window (days) and '
'change ratio settings. Security definer so service_role can read them through the views.';
