-- conductor.product_affinity_from_sales: what public.customer_product_affinity holds, computed
-- from the completed transactions and their lines (see the table's column comments), one row per
-- customer and sku with at least one sale line. A linear pipeline (no join between aggregated
-- sets, so no plan can go quadratic): transactions with their visit numbers -> lines -> per
-- product. Every window partitions by customer, so a filter on customer_id reaches the
-- transactions' index: conductor.refresh_product_affinity reads it for a few customers at a sale
-- and for everyone at a rebuild. Windows and groups lead with integer hashes beside the ids
-- themselves (so they mean the same): the sales' window with the customer's hashtext, the lines'
-- with one bigint of the customer's hash (high half) and the sku's (low half). The big sorts
-- then compare one integer where they would collate text at every step (two lines of one
-- customer and different skus differ in it), and a customer's rows stay together.
-- Reads: transactions, transaction_items, conductor.settings (store_time_zone).
create view conductor.product_affinity_from_sales as
with sales as (
    select
        t.transaction_id,
        t.customer_id,
        t.date as sold_at,
        t.transaction_type = 'sale' as is_sale,
        (t.date at time zone z.time_zone)::date as sold_on,
        -- visit number of a sale's day (1 = first visit); null for refunds
        case
            when t.transaction_type = 'sale'
                then dense_rank() over (
                    partition by pg_catalog.hashtext(t.customer_id), t.customer_id, t.transaction_type
                    order by (t.date at time zone z.time_zone)::date
                )
        end as visit_number
    from public.transactions as t
    -- The store's time zone, as conductor.store_time_zone() (a function here would run per row),
    -- read once per statement: a scalar subquery, where a join would be a step for every row.
    cross join (
        select (
            select s.value #>> '{}' from conductor.settings as s
            where s.key = 'store_time_zone'
        ) as time_zone
    ) as z
    where t.customer_id is not null and t.status = 'completed'
),

lines as (
    -- One window pass over each product's lines, sale lines first, newest first: the first line
    -- (no previous one) gives the name, brand and category; a line whose transaction or day
    -- differs from the line before it (previous_*) starts a new purchase or a new purchase day
    -- (lines of one transaction, and of one day, are adjacent in this order, and a sale line
    -- follows only sale lines).
    select
        (pg_catalog.hashtext(s.customer_id)::bigint << 32)
        | (pg_catalog.hashtext(i.product_sku)::bigint & 4294967295) as pair_key,
        s.customer_id,
        i.product_sku,
        s.is_sale,
        s.sold_on,
        s.visit_number,
        i.quantity,
        i.unit_price,
        -- refund lines reduce the spend by their amount, whichever sign the POS gave it
        case when s.is_sale then i.total_price else -abs(i.total_price) end as amount,
        i.product_name,
        i.brand,
        i.category,
        s.transaction_id,
        lag(s.transaction_id) over latest as previous_transaction_id,
        lag(s.sold_on) over latest as previous_sold_on
    from sales as s
    inner join public.transaction_items as i on s.transaction_id = i.transaction_id
    where i.product_sku is not null
    window latest as (
        partition by
            (pg_catalog.hashtext(s.customer_id)::bigint << 32) | (pg_catalog.hashtext(i.product_sku)::bigint & 4294967295),
            s.customer_id,
            i.product_sku
        order by s.is_sale desc, s.sold_at desc, s.transaction_id desc, i.line_number desc
    )
),

per_product as (
    select
        l.customer_id,
        l.product_sku,
        max(l.product_name) filter (where l.previous_transaction_id is null) as product_name,
        max(l.category) filter (where l.previous_transaction_id is null) as category,
        max(l.brand) filter (where l.previous_transaction_id is null) as brand,
        (count(*) filter (
            where l.is_sale and l.previous_transaction_id is distinct from l.transaction_id
        ))::integer as purchase_count,
        count(*) filter (
            where l.is_sale and l.previous_sold_on is distinct from l.sold_on
        ) as purchase_days,
        coalesce(sum(l.quantity) filter (where l.is_sale), 0)::integer as units_purchased,
        sum(l.amount) as total_spent,
        min(l.sold_on) filter (where l.is_sale) as first_purchased,
        max(l.sold_on) filter (where l.is_sale) as last_purchased,
        -- seed 000: AVG(ti.unit_price), one line one value
        avg(l.unit_price) filter (where l.is_sale) as avg_price_paid,
        round(sum(l.amount) filter (where l.is_sale) / nullif(sum(l.quantity) filter (where l.is_sale), 0), 2)
            as avg_unit_price_weighted,
        -- visit numbers grow with the day: the smallest is the first purchase's
        min(l.visit_number) as first_visit_number,
        (count(*) filter (where l.is_sale))::integer as sale_lines,
        sum(l.unit_price) filter (where l.is_sale) as sale_unit_price_sum,
        sum(l.amount) filter (where l.is_sale) as sale_spent
    from lines as l
    group by l.pair_key, l.customer_id, l.product_sku
    having bool_or(l.is_sale)
)

select
    p.customer_id,
    p.product_sku,
    p.product_name,
    p.category,
    p.brand,
    p.purchase_count,
    p.units_purchased,
    p.total_spent,
    p.first_purchased,
    p.last_purchased,
    p.avg_price_paid,
    p.avg_unit_price_weighted,
    -- seed 000: CASE WHEN COUNT(*) > 1 THEN 1.0 ELSE 0.0 END, counted in purchases
    case when p.purchase_count > 1 then 1.0 else 0.0 end as repurchase_rate,
    p.purchase_days::integer as purchase_days,
    p.first_visit_number::integer as first_visit_number,
    p.sale_lines,
    p.sale_unit_price_sum,
    p.sale_spent
from per_product as p;
comment on view conductor.product_affinity_from_sales is
'customer_product_affinity as computed from the completed transactions and their lines (seed 000''s '
'formulas in its columns, the package''s measures and maintenance totals beside them); what '
'conductor.refresh_product_affinity writes.';
