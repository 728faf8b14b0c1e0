-- public.get_customer_timeline: a customer's activity, newest first, for the AI and n8n. The
-- rows come from public.customer_activity_timeline, except those whose source was written since
-- (taken from the base tables through conductor.activity_timeline_rows, the same code the view
-- is built from), so today's purchase or text is there before the next refresh.
-- "Since" is the newest recorded_at the view holds for this customer or number minus the
-- timeline_live_overlap_hours setting: a transaction still open during the refresh commits rows
-- stamped before it, and the overlap takes those from the base tables too. A stored row is used
-- only while its source row is unchanged since then (so a voided sale, a delivered SMS or a
-- deleted row shows as it is now); each row is therefore either stored or live, never both.
-- Line items edited later without touching their transaction show from the next refresh. After
-- a repair (conductor.rebuild_all marks the view stale) every row is read from the base tables
-- until the view's next refresh.
-- Reads: the view, conductor.stale_materialized_views, transactions, transaction_items, messages,
-- customers, leads, conductor.lead_events.

create function public.get_customer_timeline(
    phone_number text,
    max_rows integer default 50,
    before timestamptz default null
)
returns jsonb
stable
security definer
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_custom_plan
language plpgsql
as $$
#variable_conflict use_variable
declare
    v_phone text := conductor.require_phone(phone_number, 'phone_number');
    v_limit integer := coalesce(max_rows, 50);
    v_most integer := (conductor.setting('timeline_max_rows') #>> '{}')::integer;
    v_overlap interval := pg_catalog.make_interval(
        hours => (conductor.setting('timeline_live_overlap_hours') #>> '{}')::integer
    );
    v_customer_id text;
    v_customer_name text;
    v_populated boolean;
    v_since timestamptz;
    v_activities jsonb;
    v_has_more boolean;
    v_oldest timestamptz;
begin
    if v_phone is null then
        raise exception 'phone_number is required: pass a phone number such as +16199773020' using errcode = '22023';
    end if;
    if v_limit < 1 or v_limit > v_most then
        raise exception 'max_rows is out of range: must be between 1 and %, got %', v_most, v_limit using errcode = '22023';
    end if;

    v_customer_id := conductor.customer_for_phone(v_phone);
    select c.name into v_customer_name from public.customers as c where c.member_id = v_customer_id;

    -- Stored rows are trusted unless a repair marked the view stale (it is refreshed within a minute).
    select c.relispopulated into v_populated
    from pg_catalog.pg_class as c
    where c.oid = 'public.customer_activity_timeline'::regclass;
    v_populated := v_populated and not exists (
        select from conductor.stale_materialized_views as s
        where s.view_name = 'public.customer_activity_timeline'
    );

    if v_populated then
        select max(s.recorded_at) into v_since
        from public.customer_activity_timeline as s
        where s.customer_id = v_customer_id or s.phone_number = v_phone;
    end if;
    v_since := coalesce(v_since - v_overlap, '-infinity');

    with live as (
        select
            r.activity_type,
            r.occurred_at,
            r.source_table,
            r.source_id,
            r.summary,
            r.metadata
        from conductor.activity_timeline_rows(v_customer_id, v_phone, v_since) as r
    ),

    stored as (
        select
            s.activity_type,
            s.occurred_at,
            s.source_table,
            s.source_id,
            s.summary,
            s.metadata
        from public.customer_activity_timeline as s
        where
            v_populated
            and (s.customer_id = v_customer_id or s.phone_number = v_phone)
            and case s.source_table
                when 'transactions' then exists (
                    select from public.transactions as t
                    where t.id = s.source_id and t.updated_at < v_since
                )
                when 'messages' then exists (
                    select from public.messages as m
                    where m.id = s.source_id and m.updated_at < v_since
                )
                when 'lead_events' then exists (
                    select from conductor.lead_events as e
                    inner join public.leads as l on l.id = e.lead_id
                    where e.id = s.source_id and l.updated_at < v_since
                )
                when 'opt_out_reviews' then exists (
                    select from conductor.opt_out_reviews as r
                    where r.id = s.source_id and r.updated_at < v_since
                )
                else false
            end
    ),

    ranked as (
        select
            a.*,
            row_number() over (order by a.occurred_at desc, a.source_table asc, a.source_id desc) as rn
        from (select * from live union all select * from stored) as a
        where before is null or a.occurred_at < before
    ),

    -- A page never splits activities that share a timestamp, so the next page (before = the
    -- oldest occurred_at returned) neither repeats nor skips any.
    page as (
        select r.*
        from ranked as r
        where
            r.rn <= v_limit
            or r.occurred_at = (select k.occurred_at from ranked as k where k.rn = v_limit)
    )

    select
        coalesce(
            (
                select
                    jsonb_agg(
                        jsonb_build_object(
                            'occurred_at', p.occurred_at,
                            'activity_type', p.activity_type,
                            'summary', p.summary,
                            'source_table', p.source_table,
                            'source_id', p.source_id,
                            'metadata', p.metadata
                        )
                        order by p.rn
                    )
                from page as p
            ),
            '[]'::jsonb
        ),
        exists (select from ranked as r where r.rn > (select max(p.rn) from page as p)),
        (select min(p.occurred_at) from page as p)
    into v_activities, v_has_more, v_oldest;

    return jsonb_build_object(
        'phone_number', v_phone,
        'customer_id', v_customer_id,
        'customer_name', v_customer_name,
        'activities', v_activities,
        'has_more', v_has_more,
        'next_before', case when v_has_more then v_oldest end
    );
end
$$;
comment on function public.get_customer_timeline(text, integer, timestamptz) is
'A customer''s activity, newest first (n8n: POST /rest/v1/rpc/get_customer_timeline {"phone_number", '
'"max_rows", "before"}): purchases, refunds, SMS both ways and lead events of the customer with that phone '
'and of the number itself, up to the minute. Returns {phone_number, customer_id, customer_name, '
'activities: [{occurred_at, activity_type, summary, source_table, source_id, metadata}], has_more, '
'next_before}; an unknown number gives customer_id null and no activities. max_rows: 1 to the '
'timeline_max_rows setting (default 50; a page is longer only to keep activities sharing its last '
'timestamp together); before: only activities strictly older (pass next_before for the next page). '
'22023 naming phone_number or max_rows for a bad argument.';
