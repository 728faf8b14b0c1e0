-- public.get_customer_top_products(phone_number, max_products default 5) ranks the customer's
-- products by purchases, then spend, then latest purchase; an unknown phone gives no rows, bad
-- arguments 22023 naming them.
begin;
select plan(6);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.products (product_id, sku, name, category)
select
    'TP-P' || g as product_id,
    'TP-' || g as sku,
    'Product ' || g as name,
    'Flower' as category
from generate_series(1, 7) as g;
insert into public.customers (member_id, phone) values ('TP-1', '+16195550501');
insert into public.transactions (transaction_id, customer_id, date, total_amount)
select
    'TP-T' || g as transaction_id,
    'TP-1' as customer_id,
    pg_temp.at(g) as date,
    100 as total_amount
from generate_series(1, 3) as g;
-- TP-1 in all three sales; TP-2 in two; TP-3..TP-7 once, TP-7 the most expensive of them.
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values
('TP-T1', 1, 'TP-1', 1, 10, 10), ('TP-T2', 1, 'TP-1', 1, 10, 10), ('TP-T3', 1, 'TP-1', 1, 10, 10),
('TP-T1', 2, 'TP-2', 1, 10, 10), ('TP-T2', 2, 'TP-2', 1, 10, 10),
('TP-T1', 3, 'TP-3', 1, 5, 5), ('TP-T1', 4, 'TP-4', 1, 5, 5), ('TP-T2', 3, 'TP-5', 1, 5, 5),
('TP-T3', 2, 'TP-6', 1, 5, 5), ('TP-T3', 3, 'TP-7', 1, 50, 50);

select results_eq(
    $$select product_rank, product_sku, purchase_count from public.get_customer_top_products('+16195550501')$$,
    $$values (1, 'TP-1'::text, 3), (2, 'TP-2'::text, 2), (3, 'TP-7'::text, 1), (4, 'TP-3'::text, 1),
             (5, 'TP-4'::text, 1)$$,
    'five by default: most purchased, then most spent, then most recent, then sku'
);
select is(
    (select count(*)::integer from public.get_customer_top_products(phone_number => '619.555.0501', max_products => 2)),
    2, 'max_products limits the list'
);
select is_empty(
    $$select * from public.get_customer_top_products('+16195550999')$$, 'an unknown phone: no rows'
);
select throws_ok(
    $$select * from public.get_customer_top_products('+16195550501', 0)$$, '22023',
    'max_products is out of range: must be between 1 and 100, got 0', 'max_products out of range'
);
select throws_ok(
    $$select * from public.get_customer_top_products('not a phone')$$, '22023', null, 'a malformed phone'
);
set local role service_role;
select is(
    (select product_sku from public.get_customer_top_products('+16195550501', 1)), 'TP-1', 'service_role calls it'
);
reset role;

select * from finish();
rollback;
