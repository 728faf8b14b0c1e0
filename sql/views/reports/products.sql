-- Product reports of seed 003's dashboards: product, category and brand performance (executive),
-- slow-moving products (operations), products bought together with support, confidence and lift,
-- the seed's own "what products are bought together" and "category combinations" queries, and
-- the preferred products of each segment (marketing). Completed transactions only, except in the
-- two seed queries, which are reproduced as written (they read every line).
-- security_invoker unless noted: the reader's own privileges apply (service_role). Reads:
-- transactions, transaction_items, products, customers, customer_product_affinity,
-- conductor.reporting_parameters() (time zone, today).

create view public.report_product_performance
with (security_invoker = true)
as
select
    i.product_sku,
    coalesce(max(p.name), max(i.product_name)) as product_name,
    coalesce(max(p.category), max(i.category)) as category,
    coalesce(max(p.brand), max(i.brand)) as brand,
    count(distinct t.transaction_id) filter (where t.transaction_type = 'sale') as transactions,
    coalesce(sum(i.quantity) filter (where t.transaction_type = 'sale'), 0) as units_sold,
    coalesce(sum(i.total_price) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
    coalesce(sum(abs(i.total_price)) filter (where t.transaction_type = 'refund'), 0) as refunded,
    coalesce(sum(i.total_price) filter (where t.transaction_type = 'sale'), 0)
    - coalesce(sum(abs(i.total_price)) filter (where t.transaction_type = 'refund'), 0) as net_revenue,
    count(distinct t.customer_id) filter (where t.transaction_type = 'sale') as customers,
    rank() over (
        order by
            coalesce(sum(i.total_price) filter (where t.transaction_type = 'sale'), 0)
            - coalesce(sum(abs(i.total_price)) filter (where t.transaction_type = 'refund'), 0) desc
    ) as revenue_rank
from public.transaction_items as i
inner join public.transactions as t on i.transaction_id = t.transaction_id
left join public.products as p on i.product_sku = p.sku
where t.status = 'completed' and i.product_sku is not null
group by i.product_sku;
comment on view public.report_product_performance is
'Per product (sku) over completed transactions: sale transactions, units sold, gross_sales (its sale lines), '
'refunded (its refund lines), net_revenue, member customers, and revenue_rank (1 = most net revenue; the top 10 '
'by revenue are revenue_rank <= 10). Name, category and brand from the catalogue, else the sale lines.';

create view public.report_category_performance
with (security_invoker = true)
as
select
    coalesce(i.category, p.category, 'Uncategorized') as category,
    count(distinct t.transaction_id) filter (where t.transaction_type = 'sale') as transactions,
    coalesce(sum(i.quantity) filter (where t.transaction_type = 'sale'), 0) as units_sold,
    coalesce(sum(i.total_price) filter (where t.transaction_type = 'sale'), 0)
    - coalesce(sum(abs(i.total_price)) filter (where t.transaction_type = 'refund'), 0) as net_revenue,
    count(distinct t.customer_id) filter (where t.transaction_type = 'sale') as customers,
    count(distinct i.product_sku) as products
from public.transaction_items as i
inner join public.transactions as t on i.transaction_id = t.transaction_id
left join public.products as p on i.product_sku = p.sku
where t.status = 'completed'
group by coalesce(i.category, p.category, 'Uncategorized');
comment on view public.report_category_performance is
'Per category (the sale line''s, else the catalogue''s, else Uncategorized) over completed transactions: sale '
'transactions, units sold, net_revenue (sale lines minus refund lines), member customers and products sold.';

create view public.report_category_by_month
with (security_invoker = true)
as
with parameters as materialized (
    select p.time_zone from conductor.reporting_parameters() as p
)

select
    coalesce(i.category, p.category, 'Uncategorized') as category,
    date_trunc('month', (t.date at time zone parameters.time_zone))::date as month,
    count(distinct t.transaction_id) filter (where t.transaction_type = 'sale') as transactions,
    coalesce(sum(i.quantity) filter (where t.transaction_type = 'sale'), 0) as units_sold,
    coalesce(sum(i.total_price) filter (where t.transaction_type = 'sale'), 0)
    - coalesce(sum(abs(i.total_price)) filter (where t.transaction_type = 'refund'), 0) as net_revenue
from public.transaction_items as i
inner join public.transactions as t on i.transaction_id = t.transaction_id
cross join parameters
left join public.products as p on i.product_sku = p.sku
where t.status = 'completed'
group by
    coalesce(i.category, p.category, 'Uncategorized'),
    date_trunc('month', (t.date at time zone parameters.time_zone))::date;
comment on view public.report_category_by_month is
'Category trends: public.report_category_performance''s sale transactions, units sold and net revenue per '
'category and store month (month = its first day).';

create view public.report_brand_performance
with (security_invoker = true)
as
select
    coalesce(i.brand, p.brand, 'Unbranded') as brand,
    count(distinct t.transaction_id) filter (where t.transaction_type = 'sale') as transactions,
    coalesce(sum(i.quantity) filter (where t.transaction_type = 'sale'), 0) as units_sold,
    coalesce(sum(i.total_price) filter (where t.transaction_type = 'sale'), 0)
    - coalesce(sum(abs(i.total_price)) filter (where t.transaction_type = 'refund'), 0) as net_revenue,
    count(distinct t.customer_id) filter (where t.transaction_type = 'sale') as customers,
    count(distinct i.product_sku) as products
from public.transaction_items as i
inner join public.transactions as t on i.transaction_id = t.transaction_id
left join public.products as p on i.product_sku = p.sku
where t.status = 'completed'
group by coalesce(i.brand, p.brand, 'Unbranded');
comment on view public.report_brand_performance is
'Per brand (the sale line''s, else the catalogue''s, else Unbranded), the measures of '
'public.report_category_performance.';

create view public.report_slow_moving_products
with (security_invoker = true)
as
with parameters as materialized (
    select
        p.time_zone,
        p.today
    from conductor.reporting_parameters() as p
),

sold as (
    select
        i.product_sku,
        max((t.date at time zone parameters.time_zone)::date) as last_sold_on,
        coalesce(sum(i.quantity) filter (where t.date >= (parameters.today - 29)::timestamp at time zone parameters.time_zone), 0)
            as units_30d,
        coalesce(sum(i.quantity) filter (where t.date >= (parameters.today - 89)::timestamp at time zone parameters.time_zone), 0)
            as units_90d
    from public.transaction_items as i
    inner join public.transactions as t on i.transaction_id = t.transaction_id
    cross join parameters
    where t.status = 'completed' and t.transaction_type = 'sale' and i.product_sku is not null
    group by i.product_sku
)

select
    p.sku as product_sku,
    p.name as product_name,
    p.category,
    p.brand,
    p.retail_price,
    s.last_sold_on,
    parameters.today - s.last_sold_on as days_since_last_sale,
    coalesce(s.units_30d, 0) as units_30d,
    coalesce(s.units_90d, 0) as units_90d,
    coalesce(s.units_30d, 0) = 0 as slow_moving
from public.products as p
cross join parameters
left join sold as s on p.sku = s.product_sku
where p.is_active and p.sku is not null;
comment on view public.report_slow_moving_products is
'Every active product with its last completed sale day, days since it, and units sold in the last 30 and 90 '
'store days (today included); slow_moving when none sold in the last 30 days. Order by units_30d, '
'days_since_last_sale desc nulls first for the slowest first.';

create view public.report_cross_sell_pairs
with (security_invoker = true)
as
with baskets as (
    -- each completed sale's distinct products
    select distinct
        i.transaction_id,
        i.product_sku
    from public.transaction_items as i
    inner join public.transactions as t on i.transaction_id = t.transaction_id
    where t.status = 'completed' and t.transaction_type = 'sale' and i.product_sku is not null
),

product_baskets as (
    select
        b.product_sku,
        count(*) as baskets
    from baskets as b
    group by b.product_sku
),

pairs as (
    select
        a.product_sku as product_a,
        b.product_sku as product_b,
        count(*) as baskets_together
    from baskets as a
    inner join baskets as b on a.transaction_id = b.transaction_id and a.product_sku < b.product_sku
    group by a.product_sku, b.product_sku
),

total as (
    select count(distinct b.transaction_id) as baskets from baskets as b
)

select
    x.product_a,
    pa.name as product_a_name,
    x.product_b,
    pb.name as product_b_name,
    x.baskets_together,
    na.baskets as baskets_with_a,
    nb.baskets as baskets_with_b,
    total.baskets as baskets_total,
    round(x.baskets_together::numeric / total.baskets, 6) as support,
    round(x.baskets_together::numeric / na.baskets, 4) as confidence_a_to_b,
    round(x.baskets_together::numeric / nb.baskets, 4) as confidence_b_to_a,
    round(x.baskets_together::numeric * total.baskets / (na.baskets * nb.baskets), 4) as lift
from pairs as x
cross join total
inner join product_baskets as na on x.product_a = na.product_sku
inner join product_baskets as nb on x.product_b = nb.product_sku
left join public.products as pa on x.product_a = pa.sku
left join public.products as pb on x.product_b = pb.sku;
comment on view public.report_cross_sell_pairs is
'Products bought together, over the baskets of completed sales (a basket = one sale''s distinct skus): '
'baskets_together, baskets with each product and in all; support = together / all, confidence_a_to_b = '
'together / baskets with a, lift = support / (share with a x share with b): above 1, bought together more often '
'than chance. One row per pair (product_a < product_b) bought together at least once. Reads every completed '
'sale line: filter on read (for example baskets_together >= 10 order by lift desc).';

create view public.report_products_bought_together
with (security_invoker = true)
as
select
    ti1.product_name as product_1,
    ti2.product_name as product_2,
    count(*) as times_bought_together
from public.transaction_items as ti1
inner join public.transaction_items as ti2 on ti1.transaction_id = ti2.transaction_id
where ti1.product_sku < ti2.product_sku
group by ti1.product_name, ti2.product_name;
comment on view public.report_products_bought_together is
'Seed 003''s "What Products Are Bought Together", as written: pairs of lines of one transaction (any status), '
'counted per pair of product names. The seed reads the top 20: order by times_bought_together desc limit 20. '
'See public.report_cross_sell_pairs for support, confidence and lift over completed sales.';

create view public.report_category_combinations
with (security_invoker = true)
as
select
    ti1.category as category_1,
    ti2.category as category_2,
    count(*) as times_bought_together
from public.transaction_items as ti1
inner join public.transaction_items as ti2 on ti1.transaction_id = ti2.transaction_id
where ti1.category < ti2.category and ti1.category is not null and ti2.category is not null
group by ti1.category, ti2.category;
comment on view public.report_category_combinations is
'Seed 003''s "Category Combinations", as written: pairs of lines of one transaction (any status) in two '
'different categories, counted per category pair. The seed reads the top 20: order by times_bought_together '
'desc limit 20.';

create view public.report_preferred_products_by_segment
with (security_invoker = true)
as
with per_segment as (
    select
        c.lead_segment,
        a.product_sku,
        count(*) as customers,
        sum(a.purchase_count) as purchases,
        sum(a.total_spent) as total_spent
    from public.customer_product_affinity as a
    inner join public.customers as c on a.customer_id = c.member_id
    where c.lead_segment is not null
    group by c.lead_segment, a.product_sku
)

select
    s.lead_segment,
    row_number() over (
        partition by s.lead_segment order by s.customers desc, s.purchases desc, s.product_sku asc
    ) as product_rank,
    s.product_sku,
    p.name as product_name,
    p.category,
    s.customers,
    s.purchases,
    s.total_spent
from per_segment as s
left join public.products as p on s.product_sku = p.sku;
comment on view public.report_preferred_products_by_segment is
'Products per lead_segment ranked by how many of the segment''s customers bought them (then purchases, then '
'sku): product_rank 1 is the segment''s most widely bought product. From customer_product_affinity.';
