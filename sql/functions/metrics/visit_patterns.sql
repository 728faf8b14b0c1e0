-- Visit rhythm per customer (public.customer_visit_patterns), recomputed from the customers'
-- visit days: the gaps between consecutive visits, their mean and consistency, the predicted
-- next visit and today's deviation from it; plus the nightly refresh of that deviation.
-- The seed's columns follow seed 000's calculate_visit_patterns() exactly, on visit days
-- (docs/seed-fidelity.md); visit_regularity_score and predicted_next_visit_rounded are extensions.
-- Reads: transactions. Writes: customer_visit_patterns (only rows whose values change).
-- The refresh functions run with plan_cache_mode = force_generic_plan: their statements are
-- planned once per session instead of on every POS sale, and their plan shapes (index lookups
-- per customer, hashed or merged diffs) stay linear from one customer to a full rebuild; JIT is
-- off (a compile would cost more than a sale's work).

create function conductor.refresh_visit_patterns(p_member_ids text[])
returns integer
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
    v_rows integer;
begin
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return 0;
    end if;
    perform conductor.lock_customers(p_member_ids);

    -- Sorted and grouped by a hash of the member id first (beside the id, same meaning): a bulk
    -- recompute's sort compares integers before collating text.
    with visit_days as (
        select distinct
            pg_catalog.hashtext(t.customer_id) as customer_key,
            t.customer_id,
            (t.date at time zone v_time_zone)::date as visit_day
        from public.transactions as t
        where
            t.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
            and t.status = 'completed'
            and t.transaction_type = 'sale'
    ),

    gaps as (
        select
            v.customer_key,
            v.customer_id,
            v.visit_day,
            -- numeric, as the seed's EXTRACT(DAY FROM ...) is: its AVG and STDDEV are numeric too
            (
                v.visit_day
                - lag(v.visit_day) over (partition by v.customer_key, v.customer_id order by v.visit_day)
            )::numeric as gap
        from visit_days as v
    ),

    stats as (
        select
            g.customer_id,
            count(*)::integer as total_visits,
            max(g.visit_day) as last_visit_day,
            count(g.gap) as gap_count,
            avg(g.gap) as mean_gap,
            stddev_samp(g.gap) as sample_sd_gap,
            stddev_pop(g.gap) as sd_gap,
            max(g.gap) as longest_gap_days,
            min(g.gap) as shortest_gap_days,
            coalesce(sum(g.gap * g.gap), 0)::bigint as gap_square_sum
        from gaps as g
        group by g.customer_key, g.customer_id
    ),

    computed as (
        select
            s.customer_id,
            s.total_visits,
            s.mean_gap as avg_days_between_visits,
            -- Seed 000's CASE word for word (no row without a gap: the seed writes none).
            case
                when s.gap_count = 0 then null
                when s.sample_sd_gap is null then 0
                when s.sample_sd_gap = 0 then 10
                else greatest(0, 10 - (s.sample_sd_gap / nullif(s.mean_gap, 0)))
            end as visit_consistency_score,
            case
                when s.gap_count >= 2
                    then round(greatest(0, least(10, 10 * (1 - s.sd_gap / s.mean_gap))), 2)
            end as visit_regularity_score,
            -- MAX(date) + AVG(gap) * INTERVAL '1 day', stored in a date column: the fraction truncated.
            (s.last_visit_day + s.mean_gap * interval '1 day')::date as predicted_next_visit,
            s.last_visit_day + round(s.mean_gap)::integer as predicted_next_visit_rounded,
            -- days since the last visit - AVG(gap)::int (numeric to int rounds halves away from zero)
            (v_today - s.last_visit_day) - s.mean_gap::integer as last_visit_deviation_days,
            s.longest_gap_days,
            s.shortest_gap_days,
            s.gap_square_sum
        from stats as s
    ),

    existing as (
        select
            p.ctid as row_ctid,
            p.*
        from public.customer_visit_patterns as p
        where p.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
    ),

    -- What to write: a full join (always hashed or merged, whatever the row estimates) of the
    -- computed rows with the stored ones; rows equal on both sides drop out here.
    diff as (
        select
            e.row_ctid,
            c.*
        from computed as c
        full join existing as e on c.customer_id = e.customer_id
        where
            c.customer_id is null
            or e.customer_id is null
            or (
                e.total_visits, e.avg_days_between_visits, e.visit_consistency_score, e.visit_regularity_score,
                e.predicted_next_visit, e.predicted_next_visit_rounded, e.last_visit_deviation_days,
                e.longest_gap_days, e.shortest_gap_days, e.gap_square_sum
            ) is distinct from (
                c.total_visits, c.avg_days_between_visits, c.visit_consistency_score, c.visit_regularity_score,
                c.predicted_next_visit, c.predicted_next_visit_rounded, c.last_visit_deviation_days,
                c.longest_gap_days, c.shortest_gap_days, c.gap_square_sum
            )
    ),

    -- Stored rows are addressed by ctid (the customers are locked, nobody else writes them).
    deleted as (
        delete from public.customer_visit_patterns as p
        using diff as d
        where d.customer_id is null and p.ctid = d.row_ctid
        returning 1
    ),

    updated as (
        update public.customer_visit_patterns as p
        set
            total_visits = d.total_visits,
            avg_days_between_visits = d.avg_days_between_visits,
            visit_consistency_score = d.visit_consistency_score,
            visit_regularity_score = d.visit_regularity_score,
            predicted_next_visit = d.predicted_next_visit,
            predicted_next_visit_rounded = d.predicted_next_visit_rounded,
            last_visit_deviation_days = d.last_visit_deviation_days,
            longest_gap_days = d.longest_gap_days,
            shortest_gap_days = d.shortest_gap_days,
            gap_square_sum = d.gap_square_sum,
            updated_at = now()
        from diff as d
        where
            d.customer_id is not null
            and d.row_ctid is not null
            and p.ctid = d.row_ctid
            -- a TID scan of just these rows: the generic plan would otherwise hash the whole table
            and p.ctid = any(array(select x.row_ctid from diff as x where x.customer_id is not null))
        returning 1
    ),

    inserted as (
        insert into public.customer_visit_patterns (
            customer_id, total_visits, avg_days_between_visits, visit_consistency_score, visit_regularity_score,
            predicted_next_visit, predicted_next_visit_rounded, last_visit_deviation_days, longest_gap_days,
            shortest_gap_days, gap_square_sum
        )
        select
            d.customer_id,
            d.total_visits,
            d.avg_days_between_visits,
            d.visit_consistency_score,
            d.visit_regularity_score,
            d.predicted_next_visit,
            d.predicted_next_visit_rounded,
            d.last_visit_deviation_days,
            d.longest_gap_days,
            d.shortest_gap_days,
            d.gap_square_sum
        from diff as d
        where d.customer_id is not null and d.row_ctid is null
        on conflict (customer_id) do nothing
        returning 1
    )

    select (select count(*) from deleted) + (select count(*) from updated) + (select count(*) from inserted)
    into v_rows;
    return v_rows;
end
$$;
comment on function conductor.refresh_visit_patterns(text[]) is
'Recomputes the visit patterns of these customers from their visit days (see the column comments of '
'public.customer_visit_patterns); deletes the row of a customer left without visits. Returns rows changed.';

create function conductor.refresh_visit_deviation()
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_today date := conductor.store_today();
    v_rows integer;
begin
    update public.customer_visit_patterns as p
    set last_visit_deviation_days = v_today - p.predicted_next_visit_rounded, updated_at = now()
    where
        p.predicted_next_visit_rounded is not null
        and p.last_visit_deviation_days is distinct from v_today - p.predicted_next_visit_rounded;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function conductor.refresh_visit_deviation() is
'Sets last_visit_deviation_days = today - predicted_next_visit_rounded (seed 000: days since the last visit '
'- AVG(gap)::int) where it changed (the day turned). '
'Returns rows changed.';

-- The standard deviation of a set of whole-day gaps from its count, sum and sum of squares,
-- equal digit for digit to what STDDEV_SAMP / STDDEV_POP over the numeric gaps return: the
-- variance N * sum(x^2) - sum(x)^2 over N(N - 1) or N^2, divided at the scale PostgreSQL's
-- division picks, and its square root correctly rounded to that same scale (the aggregates round
-- the root there; sqrt() alone would pick a finer scale). Lets an appended visit update the
-- seed's consistency score from three stored numbers.
create function conductor.gap_stddev(p_count bigint, p_sum numeric, p_square_sum numeric, p_sample boolean)
returns numeric
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_numerator numeric;
    v_variance numeric;
    v_scale integer;
    v_root numeric;
    v_half numeric;
begin
    if p_count is null or p_count = 0 or (p_sample and p_count = 1) then
        return null;
    end if;
    v_numerator := p_count * p_square_sum - p_sum * p_sum;
    if v_numerator <= 0 then
        return 0;
    end if;
    v_variance := v_numerator / (case when p_sample then p_count * (p_count - 1) else p_count * p_count end)::numeric;
    v_scale := pg_catalog.scale(v_variance);
    -- The root 30 digits finer, rounded to the scale, then corrected against the exact square so
    -- that a double rounding can never move the last digit.
    v_root := pg_catalog.round(pg_catalog.sqrt(pg_catalog.round(v_variance, v_scale + 30)), v_scale);
    v_half := ('5e-' || (v_scale + 1))::numeric;
    if (v_root + v_half) * (v_root + v_half) <= v_variance then
        v_root := v_root + ('1e-' || v_scale)::numeric;
    elsif (v_root - v_half) * (v_root - v_half) > v_variance then
        v_root := v_root - ('1e-' || v_scale)::numeric;
    end if;
    return v_root;
end
$$;
comment on function conductor.gap_stddev(bigint, numeric, numeric, boolean) is
'Standard deviation (sample when p_sample, else population) of p_count whole numbers with sum p_sum and '
'sum of squares p_square_sum, equal digit for digit to STDDEV_SAMP / STDDEV_POP over them as numeric.';
