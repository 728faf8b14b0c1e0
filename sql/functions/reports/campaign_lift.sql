-- RPC: incremental lift of each campaign, measured against its held-out group (the recipients
-- campaign dispatch held back, status held_out): the difference in conversion rate (a completed
-- sale within the attribution window) with Newcombe's 95% hybrid score interval, the difference
-- in revenue per recipient with Welch's 95% interval, what they add up to over the texted group
-- and what each extra visitor cost, and a verdict that says so when the data cannot tell.
-- Reads: conductor.attribution_outcomes, conductor.attribution_costs, conductor.settings.
-- Writes nothing.

create function public.campaign_lift(window_days integer default null, min_group_size integer default null)
returns table (
    campaign_name text,
    campaign_batch_id text,
    first_text_at timestamptz,
    window_closes_at timestamptz,
    texted integer,
    texted_visitors integer,
    texted_conversion_rate numeric,
    held_out integer,
    held_out_visitors integer,
    held_out_conversion_rate numeric,
    conversion_lift numeric,
    conversion_lift_lower numeric,
    conversion_lift_upper numeric,
    relative_lift numeric,
    texted_revenue_per_recipient numeric,
    held_out_revenue_per_recipient numeric,
    revenue_lift numeric,
    revenue_lift_lower numeric,
    revenue_lift_upper numeric,
    incremental_visitors numeric,
    incremental_revenue numeric,
    total_cost numeric,
    cost_per_incremental_visitor numeric,
    verdict text,
    revenue_verdict text,
    verdict_reason text
)
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_window_days integer := conductor.attribution_window_days(campaign_lift.window_days);
    v_min integer;
    v_setting jsonb;
    v_z double precision := conductor.normal_quantile(0.975);
begin
    if campaign_lift.min_group_size is not null then
        v_min := conductor.int_argument(campaign_lift.min_group_size, 'min_group_size', 2, 1000000);
    else
        v_setting := conductor.setting('attribution_min_group_size');
        if pg_catalog.jsonb_typeof(v_setting) is distinct from 'number'
            or (v_setting #>> '{}')::numeric not between 2 and 1000000
            or (v_setting #>> '{}')::numeric <> pg_catalog.trunc((v_setting #>> '{}')::numeric) then
            raise exception 'invalid setting: attribution_min_group_size must be a whole number from 2 to 1000000, not %',
                conductor.error_excerpt(v_setting::text)
                using errcode = '22023';
        end if;
        v_min := (v_setting #>> '{}')::integer;
    end if;

    return query
    with groups as (
        select
            o.campaign_name,
            o.campaign_batch_id,
            min(o.first_text_at) as first_text_at,
            max(o.window_closes_at) as window_closes_at,
            count(*) filter (where o.arm = 'texted') as n1,
            count(*) filter (where o.arm = 'texted' and o.visited) as x1,
            avg(o.revenue) filter (where o.arm = 'texted')::double precision as mean1,
            var_samp(o.revenue) filter (where o.arm = 'texted')::double precision as var1,
            count(*) filter (where o.arm = 'held_out') as n0,
            count(*) filter (where o.arm = 'held_out' and o.visited) as x0,
            avg(o.revenue) filter (where o.arm = 'held_out')::double precision as mean0,
            var_samp(o.revenue) filter (where o.arm = 'held_out')::double precision as var0
        from conductor.attribution_outcomes(v_window_days, null) as o
        where o.source = 'campaign'
        group by o.campaign_name, o.campaign_batch_id
    ),

    tested as (
        select
            g.*,
            nc.difference as p_difference,
            nc.lower_bound as p_lower,
            nc.upper_bound as p_upper,
            w.difference as r_difference,
            w.lower_bound as r_lower,
            w.upper_bound as r_upper,
            g.n0 = 0 as no_holdout,
            g.n1 < v_min or g.n0 < v_min as too_small,
            g.window_closes_at > pg_catalog.now() as too_early
        from groups as g
        cross join lateral conductor.newcombe_difference_interval(g.x1, g.n1, g.x0, g.n0, v_z) as nc
        cross join lateral conductor.welch_difference_interval(
            g.mean1, g.var1, g.n1, g.mean0, g.var0, g.n0, 0.975
        ) as w
    )

    select
        t.campaign_name,
        t.campaign_batch_id,
        t.first_text_at,
        t.window_closes_at,
        t.n1::integer,
        t.x1::integer,
        round(t.x1::numeric / nullif(t.n1, 0), 4),
        t.n0::integer,
        t.x0::integer,
        round(t.x0::numeric / nullif(t.n0, 0), 4),
        round(t.p_difference::numeric, 4),
        round(t.p_lower::numeric, 4),
        round(t.p_upper::numeric, 4),
        round((t.p_difference / nullif(t.x0::double precision / nullif(t.n0, 0), 0))::numeric, 4),
        round(t.mean1::numeric, 2),
        round(t.mean0::numeric, 2),
        round(t.r_difference::numeric, 2),
        round(t.r_lower::numeric, 2),
        round(t.r_upper::numeric, 2),
        round((t.p_difference * t.n1)::numeric, 1),
        round((t.r_difference * t.n1)::numeric, 2),
        coalesce(k.generation_cost, 0) + coalesce(k.sms_cost, 0),
        case
            when t.p_difference > 0
                then round(
                    (coalesce(k.generation_cost, 0) + coalesce(k.sms_cost, 0)) / (t.p_difference * t.n1)::numeric, 2
                )
        end,
        case
            when t.no_holdout then 'no_holdout'
            when t.too_small then 'too_small_to_tell'
            when t.too_early then 'too_early'
            when t.p_lower > 0 then 'positive'
            when t.p_upper < 0 then 'negative'
            else 'no_detectable_effect'
        end,
        case
            when t.no_holdout then 'no_holdout'
            when t.too_small then 'too_small_to_tell'
            when t.too_early then 'too_early'
            when t.r_lower > 0 then 'positive'
            when t.r_upper < 0 then 'negative'
            else 'no_detectable_effect'
        end,
        case
            when t.no_holdout
                then 'nobody was held out: set a holdout share (campaign_holdouts or campaign_holdout_share) '
                || 'before the campaign is dispatched'
            when t.too_small
                then pg_catalog.format(
                    '%s texted and %s held out: each group needs at least %s to tell an effect from chance',
                    t.n1, t.n0, v_min
                )
            when t.too_early
                then pg_catalog.format('the attribution window is still open until %s', t.window_closes_at)
            when t.p_lower > 0 or t.p_upper < 0
                then pg_catalog.format(
                    'the 95%% interval of the conversion lift, %s to %s points, excludes 0',
                    round((100 * t.p_lower)::numeric, 1), round((100 * t.p_upper)::numeric, 1)
                )
            else pg_catalog.format(
                'the 95%% interval of the conversion lift, %s to %s points, includes 0: the campaign may have done '
                || 'nothing',
                round((100 * t.p_lower)::numeric, 1), round((100 * t.p_upper)::numeric, 1)
            )
        end
    from tested as t
    left join conductor.attribution_costs(null) as k
        on
            k.source = 'campaign'
            and t.campaign_name = k.campaign_name
            and t.campaign_batch_id is not distinct from k.campaign_batch_id
    order by t.first_text_at desc, t.campaign_name asc, t.campaign_batch_id asc;
end
$$;
comment on function public.campaign_lift(integer, integer) is
'Incremental lift of each campaign (campaign_name, campaign_batch_id) against its held-out group: recipients '
'texted and held out, visitors and conversion rate of each (a completed sale within window_days, default the '
'attribution_window_days setting, after dispatch), conversion_lift = texted rate - held-out rate with '
'Newcombe''s 95% hybrid score interval, relative_lift = conversion_lift / held-out rate, revenue per recipient '
'of each group (zeros included) and revenue_lift with Welch''s 95% interval, incremental visitors and revenue '
'(lift x texted), total cost and cost per incremental visitor. verdict (conversion) and revenue_verdict: '
'no_holdout, too_small_to_tell (a group below min_group_size, default the attribution_min_group_size setting), '
'too_early (a window still open), positive or negative (the interval excludes 0) or no_detectable_effect; '
'verdict_reason says why in words. 22023 naming window_days (1-365) or min_group_size (2-1000000).';
