-- Customer metrics on public.customers, recomputed from public.transactions for a set of
-- customers (the maintenance triggers pass exactly the customers a statement touched;
-- conductor.rebuild_all passes everyone), and the clock-dependent scores for everyone (nightly,
-- and when a threshold table changes). Rows are written only when a value changes.
-- Reads: transactions, customers, the threshold tables (through conductor.customer_scores).
-- Writes: customers (metric columns only).
-- The refresh functions run with plan_cache_mode = force_generic_plan: their statements are
-- planned once per session instead of on every POS sale, and their plan shapes (index lookups
-- per customer, hashed or merged diffs) stay linear from one customer to a full rebuild. JIT is
-- off: generic row estimates would otherwise trigger a compile costing more than a sale's work.

-- Locks the customers' rows in a fixed order. Taken before any recomputation: in READ COMMITTED
-- each later statement then sees every committed sale of these customers, so two concurrent sales
-- of one customer can never overwrite each other's totals with a stale aggregate.
create function conductor.lock_customers(p_member_ids text[])
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
set jit = off
language plpgsql
as $$
begin
    perform
    from public.customers as c
    where c.member_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
    order by c.member_id
    for no key update;
end
$$;
comment on function conductor.lock_customers(text[]) is
'Locks these customers'' rows (FOR NO KEY UPDATE, in member_id order) before their derived data is recomputed.';

create function conductor.refresh_customers(
    p_member_ids text[],
    out changed_rows integer,
    out visits_changed text[]
)
returns record
volatile
security invoker
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
set jit = off
language plpgsql
as $$
declare
    v_time_zone text := conductor.store_time_zone();
    v_today date := conductor.store_today();
begin
    changed_rows := 0;
    visits_changed := '{}';
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return;
    end if;
    perform conductor.lock_customers(p_member_ids);

    with totals as (
        select
            c.id,
            c.total_visits as old_total_visits,
            c.first_visited as old_first_visited,
            c.last_visited as old_last_visited,
            a.total_visits::integer as total_visits,
            a.total_sales::integer as total_sales,
            a.total_refunds::integer as total_refunds,
            coalesce(a.gross_sales, 0) as gross_sales,
            coalesce(a.gross_refunds, 0) as gross_refunds,
            round(a.gross_sales / nullif(a.total_sales, 0), 2) as avg_sale_value,
            coalesce(a.gross_sales, 0) - coalesce(a.gross_refunds, 0) as lifetime_value,
            least(c.registered_on, a.first_visited) as date_joined,
            a.first_visited,
            a.last_visited
        from public.customers as c
        cross join lateral (
            select
                count(distinct (t.date at time zone v_time_zone)::date)
                    filter (where t.transaction_type = 'sale') as total_visits,
                count(*) filter (where t.transaction_type = 'sale') as total_sales,
                count(*) filter (where t.transaction_type = 'refund') as total_refunds,
                sum(t.total_amount) filter (where t.transaction_type = 'sale') as gross_sales,
                -sum(t.total_amount) filter (where t.transaction_type = 'refund') as gross_refunds,
                min((t.date at time zone v_time_zone)::date)
                    filter (where t.transaction_type = 'sale') as first_visited,
                max((t.date at time zone v_time_zone)::date)
                    filter (where t.transaction_type = 'sale') as last_visited
            from public.transactions as t
            where t.customer_id = c.member_id and t.status = 'completed'
        ) as a
        where c.member_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
    ),

    -- The new totals scored by the threshold bands, joined exactly as conductor.customer_scores
    -- joins the stored totals (one write per customer instead of totals first, scores after).
    computed as (
        select
            m.*,
            d.days as days_since_last_visit,
            vt.label as vip_status,
            cl.label as churn_risk,
            rr.score as rfm_recency,
            rf.score as rfm_frequency,
            rm.score as rfm_monetary,
            ls.lead_score,
            sg.label as lead_segment
        from totals as m
        cross join lateral (
            select case when m.last_visited is not null then greatest(v_today - m.last_visited, 0) end as days
        ) as d
        left join conductor.score_bands as vt on vt.kind = 'vip' and vt.bounds @> m.total_visits::numeric
        left join conductor.score_bands as cl on cl.kind = 'churn' and cl.bounds @> d.days::numeric
        left join conductor.score_bands as rr
            on rr.kind = 'recency' and rr.bounds @> coalesce(d.days::numeric, 'Infinity'::numeric)
        left join conductor.score_bands as rf on rf.kind = 'frequency' and rf.bounds @> m.total_sales::numeric
        left join conductor.score_bands as rm on rm.kind = 'monetary' and rm.bounds @> m.lifetime_value
        cross join lateral (select (3 * rr.score + 2 * rf.score + rm.score)::smallint as lead_score) as ls
        left join conductor.score_bands as sg on sg.kind = 'segment' and sg.bounds @> ls.lead_score::numeric
    ),

    updated as (
        update public.customers as c
        set
            total_visits = m.total_visits,
            total_sales = m.total_sales,
            total_refunds = m.total_refunds,
            gross_sales = m.gross_sales,
            gross_refunds = m.gross_refunds,
            avg_sale_value = m.avg_sale_value,
            lifetime_value = m.lifetime_value,
            date_joined = m.date_joined,
            first_visited = m.first_visited,
            last_visited = m.last_visited,
            days_since_last_visit = m.days_since_last_visit,
            vip_status = m.vip_status,
            churn_risk = m.churn_risk,
            rfm_recency = m.rfm_recency,
            rfm_frequency = m.rfm_frequency,
            rfm_monetary = m.rfm_monetary,
            lead_score = m.lead_score,
            lead_segment = m.lead_segment,
            last_scored_at = case
                when (c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.lead_score,
                    c.lead_segment)
                is distinct from (m.vip_status, m.churn_risk, m.rfm_recency, m.rfm_frequency, m.rfm_monetary,
                    m.lead_score, m.lead_segment)
                    then now()
                else c.last_scored_at
            end
        from computed as m
        where
            c.id = m.id
            and (
                c.total_visits, c.total_sales, c.total_refunds, c.gross_sales, c.gross_refunds,
                c.avg_sale_value, c.lifetime_value, c.date_joined, c.first_visited, c.last_visited,
                c.days_since_last_visit, c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency,
                c.rfm_monetary, c.lead_score, c.lead_segment
            ) is distinct from (
                m.total_visits, m.total_sales, m.total_refunds, m.gross_sales, m.gross_refunds,
                m.avg_sale_value, m.lifetime_value, m.date_joined, m.first_visited, m.last_visited,
                m.days_since_last_visit, m.vip_status, m.churn_risk, m.rfm_recency, m.rfm_frequency,
                m.rfm_monetary, m.lead_score, m.lead_segment
            )
        returning
            c.member_id,
            (m.old_total_visits, m.old_first_visited, m.old_last_visited)
            is distinct from (m.total_visits, m.first_visited, m.last_visited) as visits_changed
    )

    select
        count(*)::integer,
        coalesce(array_agg(u.member_id order by u.member_id) filter (where u.visits_changed), '{}')
    into changed_rows, visits_changed
    from updated as u;
end
$$;
comment on function conductor.refresh_customers(text[]) is
'Recomputes every metric column of these customers from their completed transactions (tiers, churn and '
'RFM through conductor.score_bands) and writes the rows whose values changed. Returns how many rows '
'changed and which customers'' visit days changed.';

-- Writes conductor.customer_scores into every customer's row where it differs (no filter: a
-- plain hash join of the two scans; the view is not meant to be filtered by a list of ids).
create function conductor.refresh_scores()
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
language plpgsql
as $$
declare
    v_rows integer;
begin
    update public.customers as c
    set
        days_since_last_visit = s.days_since_last_visit,
        vip_status = s.vip_status,
        churn_risk = s.churn_risk,
        rfm_recency = s.rfm_recency,
        rfm_frequency = s.rfm_frequency,
        rfm_monetary = s.rfm_monetary,
        lead_score = s.lead_score,
        lead_segment = s.lead_segment,
        last_scored_at = case
            when (c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.lead_score,
                c.lead_segment)
            is distinct from (s.vip_status, s.churn_risk, s.rfm_recency, s.rfm_frequency, s.rfm_monetary,
                s.lead_score, s.lead_segment)
                then now()
            else c.last_scored_at
        end
    from conductor.customer_scores as s
    where
        c.id = s.id
        and (
            c.days_since_last_visit, c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency,
            c.rfm_monetary, c.lead_score, c.lead_segment
        ) is distinct from (
            s.days_since_last_visit, s.vip_status, s.churn_risk, s.rfm_recency, s.rfm_frequency,
            s.rfm_monetary, s.lead_score, s.lead_segment
        );
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function conductor.refresh_scores() is
'Brings every customer''s days_since_last_visit, vip_status, churn_risk, RFM scores, lead_score and '
'lead_segment to what conductor.customer_scores computes (clock and thresholds); writes only rows that '
'change (last_scored_at moves when a tier, churn or RFM value changes). Returns that count.';
