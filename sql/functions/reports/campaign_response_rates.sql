-- RPC: how recipients answered each campaign and automated flow: the share of texted recipients
-- whose phone texted back within the attribution window (replies; STOP and other opt-outs counted
-- apart), with a 95% Wilson interval, and the same share for the held-out group, who got no text,
-- as the baseline of texts that would have come anyway.
-- Reads: conductor.attribution_outcomes (scheduled_messages, messages, consent_events). Writes nothing.

create function public.campaign_response_rates(window_days integer default null, sent_since timestamptz default null)
returns table (
    source text,
    campaign_name text,
    campaign_batch_id text,
    first_text_at timestamptz,
    window_closes_at timestamptz,
    texted integer,
    responders integer,
    response_rate numeric,
    response_rate_lower numeric,
    response_rate_upper numeric,
    opt_outs integer,
    opt_out_rate numeric,
    held_out integer,
    held_out_responders integer,
    held_out_response_rate numeric
)
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_window_days integer := conductor.attribution_window_days(campaign_response_rates.window_days);
    v_z double precision := conductor.normal_quantile(0.975);
begin
    return query
    with groups as (
        select
            o.source,
            o.campaign_name,
            o.campaign_batch_id,
            min(o.first_text_at) as first_text_at,
            max(o.window_closes_at) as window_closes_at,
            count(*) filter (where o.arm = 'texted') as n1,
            count(*) filter (where o.arm = 'texted' and o.replied) as r1,
            count(*) filter (where o.arm = 'texted' and o.opted_out) as s1,
            count(*) filter (where o.arm = 'held_out') as n0,
            count(*) filter (where o.arm = 'held_out' and o.replied) as r0
        from conductor.attribution_outcomes(v_window_days, campaign_response_rates.sent_since) as o
        group by o.source, o.campaign_name, o.campaign_batch_id
    )

    select
        g.source,
        g.campaign_name,
        g.campaign_batch_id,
        g.first_text_at,
        g.window_closes_at,
        g.n1::integer,
        g.r1::integer,
        round(g.r1::numeric / nullif(g.n1, 0), 4),
        round(w.lower_bound::numeric, 4),
        round(w.upper_bound::numeric, 4),
        g.s1::integer,
        round(g.s1::numeric / nullif(g.n1, 0), 4),
        g.n0::integer,
        case when g.n0 > 0 then g.r0::integer end,
        round(g.r0::numeric / nullif(g.n0, 0), 4)
    from groups as g
    cross join lateral conductor.wilson_interval(g.r1, g.n1, v_z) as w
    order by g.first_text_at desc, g.source asc, g.campaign_name asc, g.campaign_batch_id asc;
end
$$;
comment on function public.campaign_response_rates(integer, timestamptz) is
'Per campaign (source campaign, campaign_name, campaign_batch_id) and automated flow (source marketing or reply): '
'texted recipients, responders (the phone sent a text within window_days, default the attribution_window_days '
'setting, after the text that was neither an opt-out nor a keyword such as HELP or START, nor flagged for '
'review), response rate with its 95% Wilson interval, opt-outs (STOP or a revocation in words within the '
'window) and their rate, and the held-out group''s responders and rate (no text: the baseline). Only texts at '
'or after sent_since (default: all). 22023 naming window_days unless 1-365.';
