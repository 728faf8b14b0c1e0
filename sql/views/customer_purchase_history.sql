-- public.customer_purchase_history: every line of every completed purchase and refund of a
-- member, with the customer, the product and the amounts; the base of purchase reports
-- ("what did this customer buy", "who bought this product"). Walk-in sales (no member) and
-- voided transactions are not in it. Filter by customer_id or product_sku: both reach indexes.
-- security_invoker: the reader's own privileges apply (service_role). Reads: transactions,
-- transaction_items, customers, products, conductor.reporting_parameters() (time zone).
create view public.customer_purchase_history
with (security_invoker = true)
as
with parameters as materialized (
    select p.time_zone from conductor.reporting_parameters() as p
)

select
    t.customer_id,
    c.name as customer_name,
    t.transaction_id,
    t.transaction_type,
    t.date as purchased_at,
    (t.date at time zone parameters.time_zone)::date as purchase_date,
    t.shop_location,
    t.staff_name,
    t.payment_type,
    i.line_number,
    i.product_sku,
    p.product_id,
    coalesce(i.product_name, p.name) as product_name,
    coalesce(i.brand, p.brand) as brand,
    coalesce(i.category, p.category) as category,
    coalesce(i.strain, p.strain) as strain,
    i.quantity,
    case t.transaction_type when 'refund' then -i.quantity else i.quantity end as net_quantity,
    i.unit_price,
    i.discount,
    i.total_price as line_total,
    t.total_amount as transaction_total
from public.transactions as t
inner join public.customers as c on t.customer_id = c.member_id
inner join public.transaction_items as i on t.transaction_id = i.transaction_id
left join public.products as p on i.product_sku = p.sku
cross join parameters
where t.status = 'completed';

comment on view public.customer_purchase_history is
'One row per line of a completed purchase or refund of a member (voided transactions and walk-in sales '
'excluded), with customer, product, dates and amounts. Refund lines have a negative line_total and '
'net_quantity, so sums are net.';
comment on column public.customer_purchase_history.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_purchase_history.customer_name is 'Customer name.';
comment on column public.customer_purchase_history.transaction_id is 'POS transaction id (transactions.transaction_id).';
comment on column public.customer_purchase_history.transaction_type is 'sale or refund.';
comment on column public.customer_purchase_history.purchased_at is 'When the transaction happened.';
comment on column public.customer_purchase_history.purchase_date is 'Its calendar date at the store (setting store_time_zone).';
comment on column public.customer_purchase_history.shop_location is 'Store location.';
comment on column public.customer_purchase_history.staff_name is 'Budtender who rang it.';
comment on column public.customer_purchase_history.payment_type is 'Payment method.';
comment on column public.customer_purchase_history.line_number is 'Line number within the transaction.';
comment on column public.customer_purchase_history.product_sku is 'Product (products.sku); null if the POS had none.';
comment on column public.customer_purchase_history.product_id is 'POS product id (products.product_id), when the sku is known.';
comment on column public.customer_purchase_history.product_name is 'Product name as sold (else the catalogue name).';
comment on column public.customer_purchase_history.brand is 'Brand as sold (else the catalogue brand).';
comment on column public.customer_purchase_history.category is 'Category as sold (else the catalogue category).';
comment on column public.customer_purchase_history.strain is 'Strain as sold (else the catalogue strain).';
comment on column public.customer_purchase_history.quantity is 'Units on the line (always positive).';
comment on column public.customer_purchase_history.net_quantity is 'Units bought: quantity, negative on a refund.';
comment on column public.customer_purchase_history.unit_price is 'Price per unit in dollars.';
comment on column public.customer_purchase_history.discount is 'Line discount in dollars.';
comment on column public.customer_purchase_history.line_total is 'Line total in dollars; negative on a refund.';
comment on column public.customer_purchase_history.transaction_total is 'Total of the whole transaction in dollars.';
