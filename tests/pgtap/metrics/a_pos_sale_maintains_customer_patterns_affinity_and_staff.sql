-- A POS sale (one transaction, then its lines) updates at once the customer's metrics, visit
-- patterns and product affinity and its budtender's performance, creating the staff row of an
-- unknown (staff_name, shop_location) pair. The maintenance triggers are statement-level over
-- transition tables, on insert, update and delete of transactions and transaction_items.
begin;
select plan(18);

create function pg_temp.at(p_days_ago integer, p_time time default '12:00')
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + p_time) at time zone conductor.store_time_zone()
$$;

select is_empty(
    $$select t.tgname from pg_catalog.pg_trigger as t
      where t.tgrelid in ('public.transactions'::regclass, 'public.transaction_items'::regclass)
        and t.tgname like '\_500\_maintain%'
        and (t.tgtype & 1 = 1 or coalesce(t.tgnewtable, t.tgoldtable) is null)$$,
    'every maintenance trigger is FOR EACH STATEMENT with a transition table'
);
select set_eq(
    $$select c.relname || ' ' || t.tgname from pg_catalog.pg_trigger as t
      inner join pg_catalog.pg_class as c on t.tgrelid = c.oid
      where t.tgname like '\_500\_maintain%'$$,
    array[
        'transactions _500_maintain_derived_on_insert', 'transactions _500_maintain_derived_on_update',
        'transactions _500_maintain_derived_on_delete', 'transaction_items _500_maintain_affinity_on_insert',
        'transaction_items _500_maintain_affinity_on_update', 'transaction_items _500_maintain_affinity_on_delete'
    ],
    'insert, update and delete of transactions and of their lines are maintained'
);

insert into public.products (product_id, sku, name, category) values
('PP-1', 'POS-1', 'Blue Dream 3.5g', 'Flower'),
('PP-2', 'POS-2', 'Mango Gummies', 'Edibles');
insert into public.customers (member_id, name) values ('POS-M1', 'Ada');

insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount)
values ('POS-T1', 'POS-M1', pg_temp.at(10), 'Harbor', 'Nova', 53.00);
select results_eq(
    $$select total_visits, total_sales, gross_sales, lifetime_value, days_since_last_visit, vip_status
      from public.customers where member_id = 'POS-M1'$$,
    $$values (1, 1, 53.00::numeric, 53.00::numeric, 10, 'New'::text)$$,
    'the sale counts for the customer at once'
);
select results_eq(
    $$select total_transactions, total_sales, avg_transaction_value from public.staff
      where staff_name = 'Nova' and shop_location = 'Harbor'$$,
    $$values (1, 53.00::numeric, 53.00::numeric)$$,
    'an unknown budtender and location gets its staff row with the sale'
);
select results_eq(
    $$select total_visits, avg_days_between_visits from public.customer_visit_patterns where customer_id = 'POS-M1'$$,
    $$values (1, null::numeric)$$,
    'the first visit starts the visit pattern'
);
select is_empty(
    $$select 1 from public.customer_product_affinity where customer_id = 'POS-M1'$$,
    'no lines yet, no product affinity'
);

insert into public.transaction_items (
    transaction_id, line_number, product_sku, product_name, category, quantity,
    unit_price, total_price
) values
('POS-T1', 1, 'POS-1', 'Blue Dream 3.5g', 'Flower', 1, 35.00, 35.00),
('POS-T1', 2, 'POS-2', 'Mango Gummies', 'Edibles', 1, 18.00, 18.00);
select results_eq(
    $$select product_sku, purchase_count, total_spent, repurchase_share from conductor.ranked_product_affinity
      where customer_id = 'POS-M1' order by product_sku$$,
    $$values ('POS-1'::text, 1, 35.00::numeric, null::numeric), ('POS-2'::text, 1, 18.00::numeric, null::numeric)$$,
    'the lines make product affinity rows (no later visit yet to repurchase on)'
);

-- A second visit three days ago with Blue Dream again.
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount)
values ('POS-T2', 'POS-M1', pg_temp.at(3), 'Harbor', 'Nova', 35.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('POS-T2', 1, 'POS-1', 1, 35.00, 35.00);
select results_eq(
    $$select total_visits, total_sales, gross_sales, avg_sale_value, days_since_last_visit, vip_status
      from public.customers where member_id = 'POS-M1'$$,
    $$values (2, 2, 88.00::numeric, 44.00::numeric, 3, 'Casual'::text)$$,
    'a second visit: two visits, Casual'
);
select results_eq(
    $$select total_visits, avg_days_between_visits, predicted_next_visit, last_visit_deviation_days,
             longest_gap_days, shortest_gap_days
      from public.customer_visit_patterns where customer_id = 'POS-M1'$$,
    $$values (2, 7.00::numeric, conductor.store_today() + 4, -4, 7, 7)$$,
    'visit pattern: one gap of 7 days, next visit predicted 7 days after the last'
);
select results_eq(
    $$select product_sku, purchase_count, units_purchased, total_spent, avg_price_paid, repurchase_share,
             first_purchased, last_purchased
      from conductor.ranked_product_affinity where customer_id = 'POS-M1' order by product_sku$$,
    $$values
        ('POS-1'::text, 2, 2, 70.00::numeric, 35.00::numeric, 1.0000::numeric, conductor.store_today() - 10,
         conductor.store_today() - 3),
        ('POS-2'::text, 1, 1, 18.00::numeric, 18.00::numeric, 0.0000::numeric, conductor.store_today() - 10,
         conductor.store_today() - 10)$$,
    'bought again on the one later visit: repurchase share 1; the other product 0'
);
select results_eq(
    $$select total_transactions, total_sales, avg_transaction_value from public.staff where staff_name = 'Nova'$$,
    $$values (2, 88.00::numeric, 44.00::numeric)$$,
    'the budtender has both sales'
);

-- A bulk statement: several sales of several customers at once.
insert into public.customers (member_id) values ('POS-M2'), ('POS-M3');
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount)
select
    'POS-B' || g as transaction_id,
    case when g % 2 = 0 then 'POS-M2' else 'POS-M3' end as customer_id,
    pg_temp.at(g) as date,
    'Harbor' as shop_location,
    'Nova' as staff_name,
    10 as total_amount
from generate_series(1, 6) as g;
select results_eq(
    $$select member_id, total_visits, lifetime_value from public.customers
      where member_id in ('POS-M2', 'POS-M3') order by member_id$$,
    $$values ('POS-M2'::text, 3, 30.00::numeric), ('POS-M3'::text, 3, 30.00::numeric)$$,
    'one statement with many sales updates every customer in it'
);
select is(
    (
        select total_transactions from public.staff
        where staff_name = 'Nova'
    ), 8,
    'and the staff deltas of all of them'
);

-- Lines updated in place.
update public.transaction_items set quantity = 2, total_price = 36.00
where transaction_id = 'POS-T1' and line_number = 2;
select results_eq(
    $$select units_purchased, total_spent, avg_price_paid from public.customer_product_affinity
      where customer_id = 'POS-M1' and product_sku = 'POS-2'$$,
    $$values (2, 36.00::numeric, 18.00::numeric)$$,
    'an updated line updates its affinity row'
);

-- A refund with its line.
insert into public.transactions (
    transaction_id, customer_id, date, shop_location, staff_name, transaction_type,
    refunded_transaction_id, total_amount
)
values ('POS-R1', 'POS-M1', pg_temp.at(2), 'Harbor', 'Nova', 'refund', 'POS-T2', -35.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('POS-R1', 1, 'POS-1', 1, 35.00, -35.00);
select results_eq(
    $$select total_visits, total_sales, total_refunds, gross_refunds, lifetime_value, last_visited
      from public.customers where member_id = 'POS-M1'$$,
    $$values (2, 2, 1, 35.00::numeric, 53.00::numeric, conductor.store_today() - 3)$$,
    'a refund counts as a refund, lowers lifetime value and is not a visit'
);
select is(
    (
        select total_spent from public.customer_product_affinity
        where customer_id = 'POS-M1' and product_sku = 'POS-1'
    ),
    35.00::numeric,
    'the refunded line lowers the product''s net spend'
);
select results_eq(
    $$select total_refunds, gross_refunds, total_sales from public.staff where staff_name = 'Nova'$$,
    $$values (1, 35.00::numeric, 113.00::numeric)$$,
    'staff net sales lose the refund'
);

select is(
    conductor.rebuild_all(),
    '{"customers": 0, "customer_visit_patterns": 0, "customer_product_affinity": 0, "staff": 0}'::jsonb,
    'everything maintained live equals a rebuild from the raw tables'
);

select * from finish();
rollback;
