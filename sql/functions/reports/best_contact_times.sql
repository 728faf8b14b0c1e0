-- RPC: when to text. Every sent marketing text (campaign or not) by the day of week and hour it
-- left, at the store's time zone: how often the customer visited (a completed sale within the
-- attribution window) and how often the phone replied. Ranked by the lower bound of the 95% Wilson
-- interval, so a slot with a handful of lucky texts does not outrank one with a steady record.
-- Reads: public.messages, public.transactions, conductor.consent_events, conductor.settings.
-- Writes nothing.

create function public.best_contact_times(window_days integer default null, sent_since timestamptz default null)
returns table (
    day_of_week integer,
    day_name text,
    hour_of_day integer,
    texts integer,
    visits integer,
    visit_rate numeric,
    visit_rate_lower numeric,
    replies integer,
    reply_rate numeric,
    reply_rate_lower numeric,
    visit_rank integer,
    reply_rank integer
)
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_window interval := pg_catalog.make_interval(
        days => conductor.attribution_window_days(best_contact_times.window_days)
    );
    v_zone text := conductor.store_time_zone();
    v_z double precision := conductor.normal_quantile(0.975);
    v_since timestamptz := best_contact_times.sent_since;
begin
    return query
    with texts as (
        select
            m.id,
            m.customer_id,
            m.phone_number,
            m.sent_at,
            extract(isodow from m.sent_at at time zone v_zone)::integer as day_of_week,
            extract(hour from m.sent_at at time zone v_zone)::integer as hour_of_day
        from public.messages as m
        where
            m.direction = 'outbound'
            and m.status = 'sent'
            and m.message_kind = 'marketing'
            and m.sent_at is not null
            and (v_since is null or m.sent_at >= v_since)
    ),

    outcomes as (
        select
            t.day_of_week,
            t.hour_of_day,
            exists (
                select from public.transactions as x
                where
                    x.customer_id = t.customer_id
                    and x.date >= t.sent_at
                    and x.date < t.sent_at + v_window
                    and x.status = 'completed'
                    and x.transaction_type = 'sale'
            ) as visited,
            exists (
                select from public.messages as i
                where
                    i.phone_number = t.phone_number
                    and i.direction = 'inbound'
                    and i.timestamp >= t.sent_at
                    and i.timestamp < t.sent_at + v_window
                    and not exists (select from conductor.consent_events as e where e.source_message_id = i.id)
            ) as replied
        from texts as t
    ),

    slots as (
        select
            o.day_of_week,
            o.hour_of_day,
            count(*) as n,
            count(*) filter (where o.visited) as v,
            count(*) filter (where o.replied) as r
        from outcomes as o
        group by o.day_of_week, o.hour_of_day
    ),

    bounded as (
        select
            s.*,
            wv.lower_bound as v_lower,
            wr.lower_bound as r_lower
        from slots as s
        cross join lateral conductor.wilson_interval(s.v, s.n, v_z) as wv
        cross join lateral conductor.wilson_interval(s.r, s.n, v_z) as wr
    )

    select
        b.day_of_week,
        (array['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])[b.day_of_week],
        b.hour_of_day,
        b.n::integer,
        b.v::integer,
        round(b.v::numeric / b.n, 4),
        round(b.v_lower::numeric, 4),
        b.r::integer,
        round(b.r::numeric / b.n, 4),
        round(b.r_lower::numeric, 4),
        (rank() over (order by b.v_lower desc))::integer,
        (rank() over (order by b.r_lower desc))::integer
    from bounded as b
    order by b.v_lower desc, b.r_lower desc, b.day_of_week asc, b.hour_of_day asc;
end
$$;
comment on function public.best_contact_times(integer, timestamptz) is
'When to text: sent marketing texts (campaign or not, at or after sent_since, default all) by ISO day of week '
'(1 Monday - 7 Sunday) and hour they were sent at the store''s time zone (store_time_zone): texts, texts '
'followed by a visit (completed sale of the customer within window_days, default the attribution_window_days '
'setting) and by a reply (an inbound text from the phone that was not an opt-out or keyword), their rates and '
'the lower bounds of their 95% Wilson intervals; visit_rank and reply_rank order the slots by those lower '
'bounds (1 = best), so a slot with few texts does not win by luck. Best slot for visits first. 22023 naming '
'window_days unless 1-365.';
