-- RPC: customers late against their own visit rhythm (seed 000's last_visit_deviation_days, as of
-- today, is at least min_days_late), most late first, for nudges. Only numbers that may be texted.
-- Reads: customer_visit_patterns, customer_sms_context.
create function public.get_overdue_customers(min_days_late integer default 7, max_rows integer default 50)
returns table (
    customer_id text,
    name text,
    phone text,
    vip_status text,
    churn_risk text,
    last_visited date,
    days_since_last_visit integer,
    total_visits integer,
    avg_days_between_visits numeric,
    visit_consistency_score numeric,
    visit_regularity_score numeric,
    predicted_next_visit date,
    predicted_next_visit_rounded date,
    days_late integer,
    lifetime_value numeric,
    favorite_category text,
    preferred_budtender text
)
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_min_days_late integer := conductor.int_argument(
        get_overdue_customers.min_days_late, 'min_days_late', 0, 36500
    );
    v_limit integer := conductor.int_argument(get_overdue_customers.max_rows, 'max_rows', 1, 1000);
    v_today date := conductor.store_today();
begin
    return query
    select
        v.member_id,
        v.name,
        v.phone,
        v.vip_status,
        v.churn_risk,
        v.last_visited,
        v.days_since_last_visit,
        v.total_visits,
        v.avg_days_between_visits,
        v.visit_consistency_score,
        v.visit_regularity_score,
        v.predicted_next_visit,
        v.predicted_next_visit_rounded,
        v.days_late,
        v.lifetime_value,
        v.favorite_category,
        v.preferred_budtender
    from public.customer_visit_patterns as p
    inner join public.customer_sms_context as v on p.customer_id = v.member_id
    where
        p.predicted_next_visit_rounded <= v_today - v_min_days_late
        and v.phone is not null
        and not v.opted_out
    order by v.days_late desc, v.member_id asc
    limit v_limit;
end
$$;
comment on function public.get_overdue_customers(integer, integer) is
'Customers at least min_days_late days (0-36500, default 7) late against their rhythm: days since the last '
'visit - their mean gap rounded to whole days (seed 000''s last_visit_deviation_days, as of today; '
'predicted_next_visit_rounded is at least min_days_late days before today), with a phone that has not '
'opted out; most days late first, at most max_rows (1-1000, default 50). One row per customer. SQLSTATE '
'22023 for arguments out of range.';
