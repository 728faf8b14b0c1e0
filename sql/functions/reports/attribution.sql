-- Attribution of visits, revenue and replies to the texts that preceded them, per campaign
-- (public.scheduled_messages grouped by campaign_name and campaign_batch_id) and per automated
-- flow (texts not from a campaign: marketing, such as the win-back workflow's, and replies).
-- A recipient converts when the customer texted has a completed sale within the attribution
-- window after the text (setting attribution_window_days, or the window_days argument); the
-- revenue is the sum of those sales, each counted once per campaign or flow.
-- conductor.attribution_outcomes gives one row per recipient and arm, the basis of every report
-- (campaign_attribution here, campaign_lift, campaign_response_rates, best_contact_times).
-- Reads: public.scheduled_messages, public.messages, public.transactions, public.campaign_messages,
-- conductor.consent_events, conductor.settings. Writes nothing.

-- The attribution window in days: the argument when given (1-365), else the setting.
create function conductor.attribution_window_days(p_window_days integer)
returns integer
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_setting jsonb;
begin
    if p_window_days is not null then
        return conductor.int_argument(p_window_days, 'window_days', 1, 365);
    end if;
    v_setting := conductor.setting('attribution_window_days');
    if pg_catalog.jsonb_typeof(v_setting) is distinct from 'number'
        or (v_setting #>> '{}')::numeric not between 1 and 365
        or (v_setting #>> '{}')::numeric <> pg_catalog.trunc((v_setting #>> '{}')::numeric) then
        raise exception 'invalid setting: attribution_window_days must be a whole number of days from 1 to 365, not %',
            conductor.error_excerpt(v_setting::text)
            using errcode = '22023';
    end if;
    return (v_setting #>> '{}')::integer;
end
$$;
comment on function conductor.attribution_window_days(integer) is
'The attribution window in days: p_window_days when given (22023 naming window_days unless 1-365), else the '
'attribution_window_days setting (22023 naming it unless a whole number from 1 to 365).';

-- A non-negative dollar setting (sms_cost_per_message).
create function conductor.money_setting(p_key text)
returns numeric
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_setting jsonb := conductor.setting(p_key);
begin
    if pg_catalog.jsonb_typeof(v_setting) is distinct from 'number' or (v_setting #>> '{}')::numeric < 0 then
        raise exception 'invalid setting: % must be a dollar amount >= 0, not %', p_key, conductor.error_excerpt(v_setting::text)
            using errcode = '22023';
    end if;
    return (v_setting #>> '{}')::numeric;
end
$$;
comment on function conductor.money_setting(text) is
'A dollar setting (such as sms_cost_per_message) as numeric; 22023 naming the setting unless a number >= 0.';

create function conductor.attribution_outcomes(p_window_days integer, p_sent_since timestamptz)
returns table (
    source text,
    campaign_name text,
    campaign_batch_id text,
    arm text,
    recipient text,
    customer_id text,
    phone_number text,
    first_text_at timestamptz,
    window_closes_at timestamptz,
    visited boolean,
    visits integer,
    revenue numeric,
    replied boolean,
    opted_out boolean
)
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_window interval := pg_catalog.make_interval(days => conductor.attribution_window_days(p_window_days));
begin
    return query
    with texts as (
        -- Campaign rows dispatched to the texted arm (queued or sent, failed in the attempt, cancelled
        -- after queueing, or sharing a phone that got the campaign's text) or held out. Rows the rules
        -- refused (skipped) were never eligible and are in neither arm.
        select
            'campaign'::text as source,
            s.campaign_name,
            s.campaign_batch_id,
            case when s.status = 'held_out' then 'held_out' else 'texted' end as arm,
            coalesce(s.customer_id, m.customer_id) as customer_id,
            s.phone_number,
            coalesce(s.dispatched_at, m.timestamp, s.actual_send_time, s.scheduled_send_time) as text_at
        from public.scheduled_messages as s
        left join public.messages as m on s.message_id = m.id
        where
            s.campaign_name is not null
            and s.status in (
                'queued', 'sent', 'failed', 'outcome_unknown', 'cancelled', 'skipped_duplicate_phone', 'held_out'
            )
        union all
        -- Automated flows: texts sent outside a campaign, by kind (marketing or reply).
        select
            m.message_kind,
            null,
            null,
            'texted',
            m.customer_id,
            m.phone_number,
            m.sent_at
        from public.messages as m
        where
            m.direction = 'outbound'
            and m.status = 'sent'
            and m.message_kind in ('marketing', 'reply')
            and m.sent_at is not null
            and not exists (
                select from public.scheduled_messages as s
                where s.message_id = m.id and s.campaign_name is not null
            )
    ),

    scoped as (
        select
            t.*,
            coalesce(t.customer_id, 'phone:' || t.phone_number) as recipient
        from texts as t
        where p_sent_since is null or t.text_at >= p_sent_since
    ),

    units as (
        select
            u.source,
            u.campaign_name,
            u.campaign_batch_id,
            u.arm,
            u.recipient,
            min(u.customer_id) as customer_id,
            min(u.phone_number) as phone_number,
            min(u.text_at) as first_text_at,
            max(u.text_at) + v_window as window_closes_at
        from scoped as u
        group by u.source, u.campaign_name, u.campaign_batch_id, u.arm, u.recipient
    ),

    sales as (
        -- Each completed sale of the recipient inside a window after one of its texts, once.
        select distinct
            u.source,
            u.campaign_name,
            u.campaign_batch_id,
            u.arm,
            u.recipient,
            x.id,
            x.total_amount
        from scoped as u
        inner join public.transactions as x
            on
                u.customer_id = x.customer_id
                and x.date >= u.text_at
                and x.date < u.text_at + v_window
        where x.status = 'completed' and x.transaction_type = 'sale'
    ),

    sale_totals as (
        select
            x.source,
            x.campaign_name,
            x.campaign_batch_id,
            x.arm,
            x.recipient,
            count(*)::integer as visits,
            sum(x.total_amount) as revenue
        from sales as x
        group by x.source, x.campaign_name, x.campaign_batch_id, x.arm, x.recipient
    ),

    inbound as (
        -- Texts from the recipient's phone inside a window: a reply, or an opt-out (STOP or a
        -- revocation in words). Keyword texts (HELP, START) and texts flagged for review are
        -- neither a reply nor an opt-out.
        select
            u.source,
            u.campaign_name,
            u.campaign_batch_id,
            u.arm,
            u.recipient,
            bool_or(
                not exists (select from conductor.consent_events as e where e.source_message_id = i.id)
            ) as replied,
            bool_or(
                exists (
                    select from conductor.consent_events as e
                    where e.source_message_id = i.id and e.event = 'opt_out'
                )
            ) as opted_out
        from scoped as u
        inner join public.messages as i
            on
                u.phone_number = i.phone_number
                and i.direction = 'inbound'
                and i.timestamp >= u.text_at
                and i.timestamp < u.text_at + v_window
        group by u.source, u.campaign_name, u.campaign_batch_id, u.arm, u.recipient
    )

    select
        u.source,
        u.campaign_name,
        u.campaign_batch_id,
        u.arm,
        u.recipient,
        u.customer_id,
        u.phone_number,
        u.first_text_at,
        u.window_closes_at,
        st.visits is not null,
        coalesce(st.visits, 0),
        coalesce(st.revenue, 0),
        coalesce(ib.replied, false),
        coalesce(ib.opted_out, false)
    from units as u
    left join sale_totals as st
        on
            u.source = st.source
            and u.campaign_name is not distinct from st.campaign_name
            and u.campaign_batch_id is not distinct from st.campaign_batch_id
            and u.arm = st.arm
            and u.recipient = st.recipient
    left join inbound as ib
        on
            u.source = ib.source
            and u.campaign_name is not distinct from ib.campaign_name
            and u.campaign_batch_id is not distinct from ib.campaign_batch_id
            and u.arm = ib.arm
            and u.recipient = ib.recipient;
end
$$;
comment on function conductor.attribution_outcomes(integer, timestamptz) is
'One row per recipient of each campaign (source campaign, campaign_name, campaign_batch_id) and arm (texted, '
'held_out), and of each automated flow (source marketing or reply: sent texts not from a campaign; arm texted): '
'the recipient (customer_id, else phone:<number>), the first text (a campaign row''s dispatched_at, a flow '
'text''s sent_at), whether the customer visited (completed sale within p_window_days, else the '
'attribution_window_days setting, after a text), the visits and revenue (each sale once), whether the phone '
'replied or opted out within the window. Texts before p_sent_since are left out.';

create function conductor.attribution_costs(p_sent_since timestamptz)
returns table (
    source text,
    campaign_name text,
    campaign_batch_id text,
    messages_sent integer,
    generation_cost numeric,
    sms_cost numeric
)
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_sms_cost numeric := conductor.money_setting('sms_cost_per_message');
    v_since timestamptz := p_sent_since;
begin
    return query
    -- Campaigns: every generated row of the campaign costs its generation (also the held-out
    -- and skipped ones: they were written); each sent text costs sms_cost_per_message per part.
    select
        'campaign'::text as source,
        s.campaign_name,
        s.campaign_batch_id,
        count(m.id) filter (where m.status = 'sent')::integer as messages_sent,
        coalesce(sum(coalesce(s.generation_cost, c.generation_cost)), 0) as generation_cost,
        coalesce(sum(coalesce(m.parts, 1)) filter (where m.status = 'sent'), 0) * v_sms_cost as sms_cost
    from public.scheduled_messages as s
    left join public.messages as m on s.message_id = m.id
    left join public.campaign_messages as c on s.campaign_message_id = c.id
    where
        s.campaign_name is not null
        and (
            v_since is null
            or coalesce(s.dispatched_at, m.timestamp, s.actual_send_time, s.scheduled_send_time) >= v_since
        )
    group by s.campaign_name, s.campaign_batch_id
    union all
    select
        m.message_kind,
        null,
        null,
        count(*)::integer,
        0,
        coalesce(sum(coalesce(m.parts, 1)), 0) * v_sms_cost
    from public.messages as m
    where
        m.direction = 'outbound'
        and m.status = 'sent'
        and m.message_kind in ('marketing', 'reply')
        and m.sent_at is not null
        and (v_since is null or m.sent_at >= v_since)
        and not exists (
            select from public.scheduled_messages as s
            where s.message_id = m.id and s.campaign_name is not null
        )
    group by m.message_kind;
end
$$;
comment on function conductor.attribution_costs(timestamptz) is
'What each campaign (source campaign, campaign_name, campaign_batch_id) and automated flow (source marketing or '
'reply) cost from p_sent_since on: sent messages, the generation cost of every row of the campaign '
'(scheduled_messages.generation_cost, else its campaign_messages draft''s; held-out and skipped rows were '
'written too) and sms_cost_per_message per sent SMS part.';

create function public.campaign_attribution(window_days integer default null, sent_since timestamptz default null)
returns table (
    source text,
    campaign_name text,
    campaign_batch_id text,
    first_text_at timestamptz,
    last_text_at timestamptz,
    attribution_window_days integer,
    window_complete boolean,
    audience integer,
    texted integer,
    held_out integer,
    messages_sent integer,
    visitors integer,
    conversion_rate numeric,
    visits integer,
    revenue numeric,
    revenue_per_texted numeric,
    generation_cost numeric,
    sms_cost numeric,
    total_cost numeric,
    cost_per_message numeric,
    cost_per_conversion numeric,
    held_out_visitors integer,
    held_out_conversion_rate numeric,
    held_out_revenue_per_recipient numeric
)
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_window_days integer := conductor.attribution_window_days(campaign_attribution.window_days);
    v_since timestamptz := campaign_attribution.sent_since;
begin
    return query
    with outcomes as (
        select o.*
        from conductor.attribution_outcomes(v_window_days, v_since) as o
    ),

    arms as (
        select
            o.source,
            o.campaign_name,
            o.campaign_batch_id,
            min(o.first_text_at) as first_text_at,
            max(o.window_closes_at) - pg_catalog.make_interval(days => v_window_days) as last_text_at,
            max(o.window_closes_at) <= pg_catalog.now() as window_complete,
            count(*) filter (where o.arm = 'texted')::integer as texted,
            count(*) filter (where o.arm = 'held_out')::integer as held_out,
            count(*) filter (where o.arm = 'texted' and o.visited)::integer as visitors,
            coalesce(sum(o.visits) filter (where o.arm = 'texted'), 0)::integer as visits,
            coalesce(sum(o.revenue) filter (where o.arm = 'texted'), 0) as revenue,
            count(*) filter (where o.arm = 'held_out' and o.visited)::integer as held_out_visitors,
            coalesce(sum(o.revenue) filter (where o.arm = 'held_out'), 0) as held_out_revenue
        from outcomes as o
        group by o.source, o.campaign_name, o.campaign_batch_id
    )

    select
        a.source,
        a.campaign_name,
        a.campaign_batch_id,
        a.first_text_at,
        a.last_text_at,
        v_window_days,
        a.window_complete,
        a.texted + a.held_out,
        a.texted,
        a.held_out,
        coalesce(k.messages_sent, 0),
        a.visitors,
        round(a.visitors::numeric / nullif(a.texted, 0), 4),
        a.visits,
        a.revenue,
        round(a.revenue / nullif(a.texted, 0), 2),
        coalesce(k.generation_cost, 0),
        coalesce(k.sms_cost, 0),
        coalesce(k.generation_cost, 0) + coalesce(k.sms_cost, 0),
        round((coalesce(k.generation_cost, 0) + coalesce(k.sms_cost, 0)) / nullif(k.messages_sent, 0), 4),
        round((coalesce(k.generation_cost, 0) + coalesce(k.sms_cost, 0)) / nullif(a.visitors, 0), 4),
        case when a.held_out > 0 then a.held_out_visitors end,
        round(a.held_out_visitors::numeric / nullif(a.held_out, 0), 4),
        round(a.held_out_revenue / nullif(a.held_out, 0), 2)
    from arms as a
    left join conductor.attribution_costs(v_since) as k
        on
            a.source = k.source
            and a.campaign_name is not distinct from k.campaign_name
            and a.campaign_batch_id is not distinct from k.campaign_batch_id
    order by a.first_text_at desc, a.source asc, a.campaign_name asc, a.campaign_batch_id asc;
end
$$;
comment on function public.campaign_attribution(integer, timestamptz) is
'Naive attribution per campaign (source campaign: scheduled_messages by campaign_name and campaign_batch_id) and '
'per automated flow (source marketing or reply: sent texts not from a campaign): the recipients texted and '
'held out, sent messages, visitors (texted customers with a completed sale within window_days, default the '
'attribution_window_days setting, after the text), conversion rate, visits and revenue they brought, '
'generation cost (campaign rows, else their campaign_messages draft) plus sms_cost_per_message per sent part, '
'cost per sent message and per conversion, and the held-out group''s conversion rate and revenue per recipient. '
'Only texts at or after sent_since (default: all). A sale counts for every campaign or flow whose window it '
'falls in: this is attribution, not lift; campaign_lift compares with the held-out group. 22023 naming '
'window_days unless 1-365, or naming a malformed setting.';
