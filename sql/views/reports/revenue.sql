-- The executive dashboard's revenue reports (seed 003, "Recommended Dashboards & Reports"):
-- revenue by store day and by month, today against yesterday, and revenue by location.
-- Every figure counts completed transactions only (voided ones count nowhere): sales are the
-- completed sales, refunded the dollars of completed refunds, net revenue sales minus refunds,
-- and the average transaction the sales' dollars over their number. Days and months are the
-- store's (store_time_zone). Computed when read.
-- security_invoker: the reader's own privileges apply (service_role). Reads: transactions,
-- conductor.reporting_parameters() (time zone, today).

create view public.report_revenue_by_day
with (security_invoker = true)
as
with parameters as materialized (
    select p.time_zone from conductor.reporting_parameters() as p
)

select
    (t.date at time zone parameters.time_zone)::date as day,
    count(*) filter (where t.transaction_type = 'sale') as sales,
    count(*) filter (where t.transaction_type = 'refund') as refunds,
    coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
    coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as refunded,
    sum(t.total_amount) as net_revenue,
    round(avg(t.total_amount) filter (where t.transaction_type = 'sale'), 2) as avg_transaction,
    count(distinct t.customer_id) filter (where t.transaction_type = 'sale') as customers
from public.transactions as t
cross join parameters
where t.status = 'completed'
group by (t.date at time zone parameters.time_zone)::date;
comment on view public.report_revenue_by_day is
'Revenue per store day from completed transactions: sales and refunds (counts), gross_sales, refunded, '
'net_revenue = gross_sales - refunded, avg_transaction = gross_sales / sales (2 decimals) and the members '
'who bought. Days with no completed transaction have no row.';

create view public.report_revenue_by_month
with (security_invoker = true)
as
with parameters as materialized (
    select p.time_zone from conductor.reporting_parameters() as p
)

select
    date_trunc('month', (t.date at time zone parameters.time_zone))::date as month,
    count(*) filter (where t.transaction_type = 'sale') as sales,
    count(*) filter (where t.transaction_type = 'refund') as refunds,
    coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
    coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as refunded,
    sum(t.total_amount) as net_revenue,
    round(avg(t.total_amount) filter (where t.transaction_type = 'sale'), 2) as avg_transaction,
    count(distinct t.customer_id) filter (where t.transaction_type = 'sale') as customers
from public.transactions as t
cross join parameters
where t.status = 'completed'
group by date_trunc('month', (t.date at time zone parameters.time_zone))::date;
comment on view public.report_revenue_by_month is
'The monthly revenue trend: public.report_revenue_by_day''s measures per store month (month = its first day).';

create view public.report_revenue_today
with (security_invoker = true)
as
with parameters as materialized (
    select
        p.time_zone,
        p.today
    from conductor.reporting_parameters() as p
),

days as (
    select
        (t.date at time zone parameters.time_zone)::date = parameters.today as is_today,
        t.transaction_type,
        t.total_amount
    from public.transactions as t
    cross join parameters
    where
        t.status = 'completed'
        -- an index range on date: the two store days and nothing else
        and t.date >= ((parameters.today - 1)::timestamp at time zone parameters.time_zone)
        and t.date < ((parameters.today + 1)::timestamp at time zone parameters.time_zone)
)

select
    parameters.today,
    count(*) filter (where d.is_today and d.transaction_type = 'sale') as sales_today,
    coalesce(sum(d.total_amount) filter (where d.is_today), 0) as net_revenue_today,
    count(*) filter (where not d.is_today and d.transaction_type = 'sale') as sales_yesterday,
    coalesce(sum(d.total_amount) filter (where not d.is_today), 0) as net_revenue_yesterday,
    coalesce(sum(d.total_amount) filter (where d.is_today), 0)
    - coalesce(sum(d.total_amount) filter (where not d.is_today), 0) as change,
    round(
        (
            coalesce(sum(d.total_amount) filter (where d.is_today), 0)
            - sum(d.total_amount) filter (where not d.is_today)
        ) / nullif(sum(d.total_amount) filter (where not d.is_today), 0),
        4
    ) as change_ratio
from parameters
left join days as d on true
group by parameters.today;
comment on view public.report_revenue_today is
'One row: today''s net revenue and completed sales so far against yesterday''s (store days), the change in '
'dollars and change_ratio = change / yesterday''s net revenue (null when yesterday had none).';

create view public.report_revenue_by_location
with (security_invoker = true)
as
select
    t.shop_location,
    count(*) filter (where t.transaction_type = 'sale') as sales,
    coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
    coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as refunded,
    sum(t.total_amount) as net_revenue,
    round(avg(t.total_amount) filter (where t.transaction_type = 'sale'), 2) as avg_transaction,
    count(distinct t.customer_id) as unique_customers
from public.transactions as t
where t.status = 'completed' and t.shop_location is not null
group by t.shop_location;
comment on view public.report_revenue_by_location is
'Seed 003''s revenue by location, counting completed transactions only: sales, gross_sales, refunded, '
'net_revenue, avg_transaction (per sale) and unique_customers (members) per shop_location.';
