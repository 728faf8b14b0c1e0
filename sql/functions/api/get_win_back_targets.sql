-- RPC for the daily win-back run: the win-back queue page by page, dropping anyone who opted
-- out, changed phone or visited since the queue was refreshed. by_expected_value orders the same
-- rows by the lifetime-value model's expected 12-month value instead of the seed's win-back score.
-- Reads: win_back_priority_queue, customers, customer_lifetime_value, conductor.opt_outs.
create function public.get_win_back_targets(
    page integer default 1,
    page_size integer default 50,
    by_expected_value boolean default false
)
returns table (
    priority_rank bigint,
    customer_id text,
    name text,
    phone text,
    email text,
    vip_status text,
    churn_risk text,
    last_visited date,
    days_since_last_visit integer,
    total_visits integer,
    lifetime_value numeric,
    loyalty_points numeric,
    win_back_score numeric,
    favorite_category text,
    recommended_offer text,
    customers_sharing_phone integer,
    p_alive numeric,
    expected_value_12m numeric
)
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_page integer := conductor.int_argument(get_win_back_targets.page, 'page', 1, 1000000);
    v_page_size integer := conductor.int_argument(get_win_back_targets.page_size, 'page_size', 1, 1000);
    v_today date := conductor.store_today();
begin
    return query
    select
        q.priority_rank,
        q.customer_id,
        q.name,
        q.phone,
        q.email,
        q.vip_status,
        q.churn_risk,
        q.last_visited,
        greatest(v_today - q.last_visited, 0),
        q.total_visits,
        q.lifetime_value,
        q.loyalty_points,
        q.win_back_score,
        q.favorite_category,
        q.recommended_offer,
        q.customers_sharing_phone,
        lv.p_alive,
        lv.expected_value_12m
    from public.win_back_priority_queue as q
    inner join public.customers as c
        on
            q.customer_id = c.member_id
            and q.phone = c.phone
            and q.last_visited is not distinct from c.last_visited
    left join public.customer_lifetime_value as lv on q.customer_id = lv.customer_id
    where not exists (select from conductor.opt_outs as o where o.phone_number = q.phone)
    order by
        case when get_win_back_targets.by_expected_value then lv.expected_value_12m end desc nulls last,
        q.priority_rank
    offset (v_page - 1)::bigint * v_page_size
    limit v_page_size;
end
$$;
comment on function public.get_win_back_targets(integer, integer, boolean) is
'Page page (from 1) of page_size rows (1-1000, default 50) of win_back_priority_queue in priority order '
'(by_expected_value: by expected_value_12m, highest first, customers without a fit last, then priority), '
'leaving out numbers that opted out and customers who visited or changed phone since its last refresh '
'(days_since_last_visit is as of today). p_alive and expected_value_12m come from customer_lifetime_value '
'(the last nightly fit; docs/lifetime-value.md). SQLSTATE 22023 for arguments out of range.';
