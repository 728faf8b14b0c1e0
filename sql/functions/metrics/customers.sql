-- Customer metrics on public.customers, recomputed from public.transactions for a set of
-- customers (the maintenance triggers pass exactly the customers a statement touched;
-- conductor.rebuild_all passes everyone), and the clock-dependent scores for everyone (nightly,
-- and when a threshold table changes). Rows are written only when a value changes.
-- Reads: transactions, customers, the threshold tables (through conductor.customer_scores).
-- Writes: customers (metric columns only); leads of the customers whose last visit moved are
-- relinked (conductor.link_leads, called only for phones that have a lead).
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
    if cardinality(p_member_ids) > 1000 then
        -- Many customers (a bulk load, a rebuild): planned for the ids given, one pass over the
        -- table with the ids hashed costs a third of the index lookups of the plan below.
        execute '
            select from public.customers as c
            where c.member_id = any($1)
            order by c.member_id
            for no key update'
        using p_member_ids;
        return;
    end if;
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
    v_moved_phones text[];
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

    -- The new totals scored by the threshold steps exactly as conductor.customer_scores scores the
    -- stored totals (one write per customer instead of totals first, scores after).
    computed as (
        select
            m.*,
            d.days as days_since_last_visit,
            st.vip_tiers[width_bucket(m.total_visits::numeric, st.vip_floors) + 1] as vip_status,
            st.churn_levels[width_bucket(d.days::numeric, st.churn_floors) + 1] as churn_risk,
            r.recency as rfm_recency,
            r.frequency as rfm_frequency,
            r.monetary as rfm_monetary,
            ls.lead_score,
            st.segment_labels[width_bucket(ls.lead_score::numeric, st.segment_floors) + 1] as lead_segment
        from totals as m
        cross join lateral (
            select case when m.last_visited is not null then greatest(v_today - m.last_visited, 0) end as days
        ) as d
        cross join conductor.score_band_steps as st
        cross join lateral (
            select
                st.recency_scores[
                    width_bucket(-coalesce(d.days::numeric, 'Infinity'::numeric), st.recency_floors) + 1
                ] as recency,
                st.frequency_scores[width_bucket(m.total_sales::numeric, st.frequency_floors) + 1] as frequency,
                st.monetary_scores[width_bucket(m.lifetime_value, st.monetary_floors) + 1] as monetary
        ) as r
        cross join lateral (select (3 * r.recency + 2 * r.frequency + r.monetary)::smallint as lead_score) as ls
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
            updated_at = now(),
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
            c.phone,
            (m.old_total_visits, m.old_first_visited, m.old_last_visited)
            is distinct from (m.total_visits, m.first_visited, m.last_visited) as visits_changed,
            m.old_last_visited is distinct from m.last_visited as last_visit_moved
    )

    select
        count(*)::integer,
        coalesce(array_agg(u.member_id order by u.member_id) filter (where u.visits_changed), '{}'),
        array_agg(distinct u.phone) filter (where u.last_visit_moved and u.phone is not null)
    into changed_rows, visits_changed, v_moved_phones
    from updated as u;
    perform conductor.relink_leads_of_phones(v_moved_phones);
end
$$;
comment on function conductor.refresh_customers(text[]) is
'Recomputes every metric column of these customers from their completed transactions (tiers, churn and '
'RFM through conductor.score_band_steps) and writes the rows whose values changed. Returns how many rows '
'changed and which customers'' visit days changed.';

-- Writes conductor.customer_scores into every customer's row where it differs (no filter: a
-- plain hash join of the two scans; the view is not meant to be filtered by a list of ids).
-- work_mem: the hash of every customer stays in memory to about 200,000 customers.
create function conductor.refresh_scores()
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
set work_mem = '64MB'
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
        updated_at = now(),
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

-- The common POS case in O(size of the statement): new completed transactions of customers whose
-- new sale days are all on or after their last visit. Their totals grow by the statement's
-- deltas, their scores are recomputed from the new totals, and their visit patterns take the new
-- days as gaps appended after the last one (stored sum of squared gaps, the sum of gaps being
-- last - first). Each customer is read and written by key, so a sale costs the same whatever
-- the table sizes, the customer's history and statistics. Customers whose new sales fall before their last visit, or
-- whose stored state is incomplete, are returned in fallback for the full recompute. The caller
-- passes a few customers (the transactions trigger: a statement naming at most 50; a bulk load is
-- recomputed set-based, which is cheaper than walking it).
-- p_deltas: [{customer_id, sales, refunds, gross_sales, gross_refunds, days}] with days the
-- distinct local days of the new completed sales, ascending.
-- Reads: customers, customer_visit_patterns, the score bands. Writes: customers, customer_visit_patterns.
create function conductor.apply_appended_sales(
    p_deltas jsonb,
    out fallback text[],
    out appended text[]
)
returns record
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- one small statement per sale: plans kept across calls, never re-planned per value
set plan_cache_mode = force_generic_plan
set jit = off
language plpgsql
as $$
declare
    v_today date := conductor.store_today();
    v_delta record;
    v_old record;
    v_pattern record;
    v_new_days date[];
    v_day date;
    v_previous date;
    v_gap integer;
    v_total_visits integer;
    v_total_sales integer;
    v_gross_sales numeric;
    v_gross_refunds numeric;
    v_first date;
    v_last date;
    v_days_since integer;
    v_scores record;
    v_gap_count integer;
    v_gap_sum numeric;
    v_square_sum bigint;
    v_longest integer;
    v_shortest integer;
    v_mean numeric;
    v_sample_sd numeric;
    v_sd numeric;
begin
    fallback := '{}';
    appended := '{}';
    if jsonb_array_length(p_deltas) > 1 then
        perform conductor.lock_customers(
            array(select d.customer_id from jsonb_to_recordset(p_deltas) as d (customer_id text))
        );
    end if;
    for v_delta in
        select d.*
        from jsonb_to_recordset(p_deltas) as d (
            customer_id text, sales integer, refunds integer, gross_sales numeric, gross_refunds numeric, days date[]
        )
        order by d.customer_id
    loop
        select
            c.id,
            c.phone,
            c.registered_on,
            c.total_visits,
            c.total_sales,
            c.total_refunds,
            c.gross_sales,
            c.gross_refunds,
            c.first_visited,
            c.last_visited,
            c.vip_status,
            c.churn_risk,
            c.rfm_recency,
            c.rfm_frequency,
            c.rfm_monetary,
            c.lead_score,
            c.lead_segment
        into v_old
        from public.customers as c
        where c.member_id = v_delta.customer_id
        -- the lock conductor.lock_customers takes (already held when the statement named several)
        for no key update;
        if not found then
            continue;  -- no such customer: nothing to maintain (the foreign key refuses such rows)
        end if;
        if v_old.last_visited is not null and v_delta.days[1] < v_old.last_visited then
            fallback := fallback || v_delta.customer_id;
            continue;
        end if;
        v_new_days := array(
            select x.day from unnest(v_delta.days) as x (day)
            where v_old.last_visited is null or x.day > v_old.last_visited
            order by x.day
        );
        if cardinality(v_new_days) > 0 then
            select
                p.gap_square_sum,
                p.longest_gap_days,
                p.shortest_gap_days
            into v_pattern
            from public.customer_visit_patterns as p
            where p.customer_id = v_delta.customer_id;
            -- the stored pattern is there exactly when there were visits, with its running sum
            if found <> (v_old.total_visits > 0) or (found and v_pattern.gap_square_sum is null) then
                fallback := fallback || v_delta.customer_id;
                continue;
            end if;
        end if;

        v_total_visits := v_old.total_visits + cardinality(v_new_days);
        v_total_sales := v_old.total_sales + v_delta.sales;
        v_gross_sales := v_old.gross_sales + v_delta.gross_sales;
        v_gross_refunds := v_old.gross_refunds + v_delta.gross_refunds;
        v_first := coalesce(v_old.first_visited, v_new_days[1]);
        v_last := coalesce(v_new_days[cardinality(v_new_days)], v_old.last_visited);
        v_days_since := case when v_last is not null then greatest(v_today - v_last, 0) end;

        -- Scored exactly as conductor.refresh_customers scores its recomputed totals.
        select
            st.vip_tiers[width_bucket(v_total_visits::numeric, st.vip_floors) + 1] as vip_status,
            st.churn_levels[width_bucket(v_days_since::numeric, st.churn_floors) + 1] as churn_risk,
            r.recency as rfm_recency,
            r.frequency as rfm_frequency,
            r.monetary as rfm_monetary,
            ls.lead_score,
            st.segment_labels[width_bucket(ls.lead_score::numeric, st.segment_floors) + 1] as lead_segment
        into v_scores
        from conductor.score_band_steps as st
        cross join lateral (
            select
                st.recency_scores[
                    width_bucket(-coalesce(v_days_since::numeric, 'Infinity'::numeric), st.recency_floors) + 1
                ] as recency,
                st.frequency_scores[width_bucket(v_total_sales::numeric, st.frequency_floors) + 1] as frequency,
                st.monetary_scores[width_bucket(v_gross_sales - v_gross_refunds, st.monetary_floors) + 1] as monetary
        ) as r
        cross join lateral (select (3 * r.recency + 2 * r.frequency + r.monetary)::smallint as lead_score) as ls;

        update public.customers as c
        set
            total_visits = v_total_visits,
            total_sales = v_total_sales,
            total_refunds = v_old.total_refunds + v_delta.refunds,
            gross_sales = v_gross_sales,
            gross_refunds = v_gross_refunds,
            avg_sale_value = round(v_gross_sales / nullif(v_total_sales, 0), 2),
            lifetime_value = v_gross_sales - v_gross_refunds,
            date_joined = least(v_old.registered_on, v_first),
            first_visited = v_first,
            last_visited = v_last,
            days_since_last_visit = v_days_since,
            vip_status = v_scores.vip_status,
            churn_risk = v_scores.churn_risk,
            rfm_recency = v_scores.rfm_recency,
            rfm_frequency = v_scores.rfm_frequency,
            rfm_monetary = v_scores.rfm_monetary,
            lead_score = v_scores.lead_score,
            lead_segment = v_scores.lead_segment,
            updated_at = now(),
            last_scored_at = case
                when (v_old.vip_status, v_old.churn_risk, v_old.rfm_recency, v_old.rfm_frequency, v_old.rfm_monetary,
                    v_old.lead_score, v_old.lead_segment)
                is distinct from (v_scores.vip_status, v_scores.churn_risk, v_scores.rfm_recency,
                    v_scores.rfm_frequency, v_scores.rfm_monetary, v_scores.lead_score, v_scores.lead_segment)
                    then now()
                else c.last_scored_at
            end
        where c.id = v_old.id;
        -- the check of conductor.relink_leads_of_phones, inline: one probe of leads per sale
        if
            v_last is distinct from v_old.last_visited
            and exists (select from public.leads as l where l.phone_number = v_old.phone)
        then
            perform conductor.link_leads(array[v_old.phone]);
        end if;

        if cardinality(v_new_days) = 0 then
            continue;
        end if;
        -- The new gaps: from the last visit to the first new day, then between new days.
        v_square_sum := coalesce(v_pattern.gap_square_sum, 0);
        v_longest := v_pattern.longest_gap_days;
        v_shortest := v_pattern.shortest_gap_days;
        v_previous := v_old.last_visited;
        foreach v_day in array v_new_days loop
            if v_previous is not null then
                v_gap := v_day - v_previous;
                v_square_sum := v_square_sum + v_gap::bigint * v_gap;
                v_longest := greatest(v_longest, v_gap);
                v_shortest := least(v_shortest, v_gap);
            end if;
            v_previous := v_day;
        end loop;
        v_gap_count := v_total_visits - 1;
        v_gap_sum := (v_last - v_first)::numeric;
        -- AVG(gap): the sum over the count, as numeric_avg divides
        v_mean := case when v_gap_count > 0 then v_gap_sum / v_gap_count::numeric end;
        v_sample_sd := conductor.gap_stddev(v_gap_count, v_gap_sum, v_square_sum, true);
        v_sd := conductor.gap_stddev(v_gap_count, v_gap_sum, v_square_sum, false);

        -- The formulas of conductor.refresh_visit_patterns, on the same numbers.
        insert into public.customer_visit_patterns as p (
            customer_id, total_visits, avg_days_between_visits, visit_consistency_score, visit_regularity_score,
            predicted_next_visit, predicted_next_visit_rounded, last_visit_deviation_days, longest_gap_days,
            shortest_gap_days, gap_square_sum
        )
        values (
            v_delta.customer_id,
            v_total_visits,
            v_mean,
            case
                when v_gap_count = 0 then null
                when v_sample_sd is null then 0
                when v_sample_sd = 0 then 10
                else greatest(0, 10 - (v_sample_sd / nullif(v_mean, 0)))
            end,
            case
                when v_gap_count >= 2
                    then round(greatest(0, least(10, 10 * (1 - v_sd / v_mean))), 2)
            end,
            (v_last + v_mean * interval '1 day')::date,
            v_last + round(v_mean)::integer,
            (v_today - v_last) - v_mean::integer,
            v_longest,
            v_shortest,
            v_square_sum
        )
        on conflict (customer_id) do update
            set
                total_visits = excluded.total_visits,
                avg_days_between_visits = excluded.avg_days_between_visits,
                visit_consistency_score = excluded.visit_consistency_score,
                visit_regularity_score = excluded.visit_regularity_score,
                predicted_next_visit = excluded.predicted_next_visit,
                predicted_next_visit_rounded = excluded.predicted_next_visit_rounded,
                last_visit_deviation_days = excluded.last_visit_deviation_days,
                longest_gap_days = excluded.longest_gap_days,
                shortest_gap_days = excluded.shortest_gap_days,
                gap_square_sum = excluded.gap_square_sum,
                updated_at = now();
        appended := appended || v_delta.customer_id;
    end loop;
end
$$;
comment on function conductor.apply_appended_sales(jsonb) is
'Applies new completed transactions to the totals, scores and visit patterns of customers '
'whose new sales are on or after their last visit (deltas, no history read). p_deltas: [{customer_id, sales, refunds, '
'gross_sales, gross_refunds, days}]. Returns the customers left for the full recompute (fallback) and those '
'that gained visit days (appended).';
