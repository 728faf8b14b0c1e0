-- public.customer_spending_analysis: one row per customer summing up how they spend: orders,
-- gross, refunded and net dollars, average basket, spend by month and by category, and the
-- trend of the last spending_trend_window_days against the same span before it. Computed when
-- read, against the store's today, from completed (not voided) transactions; filter by
-- customer_id to read one customer through the indexes.
-- security_invoker: the reader's own privileges apply (service_role). Reads: customers,
-- transactions, transaction_items, conductor.reporting_parameters() (time zone, today, trend settings).
create view public.customer_spending_analysis
with (security_invoker = true)
as
with parameters as materialized (
    select
        p.time_zone,
        p.today,
        p.trend_window_days,
        p.trend_change_ratio
    from conductor.reporting_parameters() as p
)

select
    c.member_id as customer_id,
    c.name as customer_name,
    s.orders,
    s.refunds,
    s.gross_spend,
    s.refunded,
    s.gross_spend - s.refunded as net_spend,
    case when s.orders > 0 then round(s.gross_spend / s.orders, 2) end as average_basket,
    case when s.orders > 0 then round(k.units_bought::numeric / s.orders, 2) end as average_items_per_basket,
    s.first_purchase_date,
    s.last_purchase_date,
    s.active_months,
    case when s.active_months > 0 then round((s.gross_spend - s.refunded) / s.active_months, 2) end
        as average_spend_per_active_month,
    coalesce(m.spend_by_month, '{}'::jsonb) as spend_by_month,
    coalesce(k.spend_by_category, '{}'::jsonb) as spend_by_category,
    k.top_category,
    s.recent_spend,
    s.previous_spend,
    case when s.previous_spend > 0 then round((s.recent_spend - s.previous_spend) / s.previous_spend, 4) end
        as spend_change_ratio,
    case
        when s.orders = 0 and s.refunds = 0 then null
        when s.first_purchase_date > parameters.today - parameters.trend_window_days then 'new'
        when s.recent_spend <= 0 and s.previous_spend <= 0 then 'inactive'
        when s.previous_spend <= 0 then 'rising'
        when s.recent_spend - s.previous_spend > s.previous_spend * parameters.trend_change_ratio then 'rising'
        when s.previous_spend - s.recent_spend > s.previous_spend * parameters.trend_change_ratio then 'declining'
        else 'steady'
    end as spend_trend
from public.customers as c
cross join parameters
left join lateral (
    select
        count(*) filter (where t.transaction_type = 'sale')::integer as orders,
        count(*) filter (where t.transaction_type = 'refund')::integer as refunds,
        coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_spend,
        coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as refunded,
        min(d.local_date) filter (where t.transaction_type = 'sale') as first_purchase_date,
        max(d.local_date) filter (where t.transaction_type = 'sale') as last_purchase_date,
        count(distinct date_trunc('month', d.local_date)) filter (where t.transaction_type = 'sale')::integer
            as active_months,
        coalesce(
            sum(t.total_amount) filter (where d.local_date > parameters.today - parameters.trend_window_days), 0
        ) as recent_spend,
        coalesce(
            sum(t.total_amount) filter (
                where d.local_date between
                parameters.today - 2 * parameters.trend_window_days + 1
                and parameters.today - parameters.trend_window_days
            ),
            0
        ) as previous_spend
    from public.transactions as t
    cross join lateral (select (t.date at time zone parameters.time_zone)::date as local_date) as d
    where t.customer_id = c.member_id and t.status = 'completed'
) as s on true
left join lateral (
    select jsonb_object_agg(b.month, b.net order by b.month) as spend_by_month
    from (
        select
            to_char(t.date at time zone parameters.time_zone, 'YYYY-MM') as month,
            sum(t.total_amount) as net
        from public.transactions as t
        where t.customer_id = c.member_id and t.status = 'completed'
        group by 1
    ) as b
) as m on true
left join lateral (
    select
        jsonb_object_agg(g.category, g.net order by g.category) as spend_by_category,
        (array_agg(g.category order by g.net desc, g.category asc))[1] as top_category,
        coalesce(sum(g.units_bought), 0)::integer as units_bought
    from (
        select
            coalesce(i.category, 'Uncategorized') as category,
            sum(i.total_price) as net,
            sum(i.quantity) filter (where t.transaction_type = 'sale') as units_bought
        from public.transactions as t
        inner join public.transaction_items as i on t.transaction_id = i.transaction_id
        where t.customer_id = c.member_id and t.status = 'completed'
        group by 1
    ) as g
) as k on true;

comment on view public.customer_spending_analysis is
'Per customer: orders, gross, refunded and net spend, average basket, spend by month and by category, and '
'the spending trend (last spending_trend_window_days against the same span before). Completed transactions '
'only; months and windows are calendar dates at the store (store_time_zone), computed when read.';
comment on column public.customer_spending_analysis.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_spending_analysis.customer_name is 'Customer name.';
comment on column public.customer_spending_analysis.orders is 'Completed sale transactions.';
comment on column public.customer_spending_analysis.refunds is 'Completed refund transactions.';
comment on column public.customer_spending_analysis.gross_spend is 'Dollars of the completed sales.';
comment on column public.customer_spending_analysis.refunded is 'Dollars refunded (positive).';
comment on column public.customer_spending_analysis.net_spend is 'gross_spend - refunded.';
comment on column public.customer_spending_analysis.average_basket is 'gross_spend / orders in dollars; null without orders.';
comment on column public.customer_spending_analysis.average_items_per_basket is 'Units bought per order; null without orders.';
comment on column public.customer_spending_analysis.first_purchase_date is 'Local date of the first sale.';
comment on column public.customer_spending_analysis.last_purchase_date is 'Local date of the latest sale.';
comment on column public.customer_spending_analysis.active_months is 'Calendar months with at least one sale.';
comment on column public.customer_spending_analysis.average_spend_per_active_month is 'net_spend / active_months.';
comment on column public.customer_spending_analysis.spend_by_month is
'Net dollars per local month, {"2026-10": 53.00, ...} (refunds count in the month they happened).';
comment on column public.customer_spending_analysis.spend_by_category is
'Net dollars of line items (line totals, before tax) per product category as sold, {"Flower": 70.00, ...}; '
'"Uncategorized" when none. Transaction totals include tax, so these sum to less than net_spend.';
comment on column public.customer_spending_analysis.top_category is 'Category with the most net dollars (ties: first by name).';
comment on column public.customer_spending_analysis.recent_spend is 'Net dollars in the last spending_trend_window_days (today included).';
comment on column public.customer_spending_analysis.previous_spend is 'Net dollars in the same number of days before that.';
comment on column public.customer_spending_analysis.spend_change_ratio is
'(recent_spend - previous_spend) / previous_spend; null when previous_spend is not positive.';
comment on column public.customer_spending_analysis.spend_trend is
'new (first sale within the window), inactive (nothing in either window), rising or declining (a change '
'beyond spending_trend_change_ratio, or spend only in the recent window), steady; null without transactions.';
