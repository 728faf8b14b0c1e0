-- public.customer_purchase_history (one row per purchase line) and
-- public.customer_spending_analysis (per customer: spend, basket, months, categories, trend)
-- on hand-computed fixtures: refunds net out, voided transactions and walk-ins are excluded,
-- months and dates are the store's (a sale at 23:30 local on Jan 31 is January's), the trend
-- compares the last spending_trend_window_days with the span before. Both are security_invoker
-- views that service_role can read, with a comment on every column.
begin;
select plan(17);

select is(
    (
        select array_agg(c.relname::text order by c.relname)
        from pg_catalog.pg_class as c
        where
            c.oid in ('public.customer_purchase_history'::regclass, 'public.customer_spending_analysis'::regclass)
            and c.reloptions @> array['security_invoker=true']
    ),
    array['customer_purchase_history', 'customer_spending_analysis'],
    'both views are security_invoker'
);
select is_empty(
    $$select c.relname || '.' || a.attname
      from pg_catalog.pg_class as c
      join pg_catalog.pg_attribute as a on a.attrelid = c.oid and a.attnum > 0
      where c.oid in ('public.customer_purchase_history'::regclass, 'public.customer_spending_analysis'::regclass)
        and col_description(c.oid, a.attnum) is null$$,
    'every column of both views has a comment'
);

create function pg_temp.store_noon(p_days_ago integer) returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.customers (member_id, name, phone) values
('SA-M1', 'Rising', '+16195550701'),
('SA-M2', 'Midnight', '+16195550702'),
('SA-M3', 'Never bought', '+16195550703'),
('SA-M4', 'Declining', '+16195550704'),
('SA-M5', 'Newcomer', '+16195550705');
insert into public.products (product_id, sku, name, brand, category) values
('SA-P1', 'SA-SKU-1', 'Blue Dream 3.5g', 'Kiva', 'Flower'),
('SA-P2', 'SA-SKU-2', 'Mango Gummies', 'Wyld', 'Edibles');

insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, transaction_type, total_amount) values
('SA-T1', 'SA-M1', pg_temp.store_noon(10), 'Downtown', 'Sam', 'sale', 100),
('SA-T2', 'SA-M1', pg_temp.store_noon(100), 'Downtown', 'Sam', 'sale', 50),
('SA-T3', 'SA-M1', pg_temp.store_noon(5), 'Downtown', 'Sam', 'refund', -20),
('SA-T4', 'SA-M1', pg_temp.store_noon(3), 'Downtown', 'Sam', 'sale', 999),
('SA-T5', null, pg_temp.store_noon(3), 'Downtown', 'Sam', 'sale', 77),
-- 23:30 on Jan 31 in Los Angeles is Feb 1 in UTC: January's at the store.
('SA-T6', 'SA-M2', '2025-02-01 07:30+00', 'Uptown', 'Lee', 'sale', 10),
('SA-T7', 'SA-M2', '2025-02-01 08:30+00', 'Uptown', 'Lee', 'sale', 20),
('SA-T8', 'SA-M4', pg_temp.store_noon(120), 'Uptown', 'Lee', 'sale', 100),
('SA-T9', 'SA-M4', pg_temp.store_noon(20), 'Uptown', 'Lee', 'sale', 50),
('SA-T10', 'SA-M5', pg_temp.store_noon(30), 'Uptown', 'Lee', 'sale', 25);
update public.transactions set status = 'voided'
where transaction_id = 'SA-T4';
insert into public.transaction_items (
    transaction_id, line_number, product_sku, product_name, brand, category, quantity, unit_price, total_price
) values
('SA-T1', 1, 'SA-SKU-1', 'Blue Dream 3.5g', 'Kiva', 'Flower', 2, 30, 60),
('SA-T1', 2, 'SA-SKU-2', 'Mango Gummies', 'Wyld', 'Edibles', 1, 40, 40),
('SA-T2', 1, 'SA-SKU-1', 'Blue Dream 3.5g', 'Kiva', 'Flower', 1, 50, 50),
('SA-T3', 1, 'SA-SKU-2', 'Mango Gummies', 'Wyld', 'Edibles', 1, 20, -20),
('SA-T4', 1, 'SA-SKU-1', 'Blue Dream 3.5g', 'Kiva', 'Flower', 1, 999, 999),
('SA-T5', 1, 'SA-SKU-2', 'Mango Gummies', 'Wyld', 'Edibles', 1, 77, 77),
('SA-T6', 1, null, 'House pre-roll', null, null, 1, 10, 10),
('SA-T7', 1, 'SA-SKU-2', null, null, null, 1, 20, 20);

select results_eq(
    $$select transaction_id, line_number, transaction_type, product_name, category, quantity, net_quantity, line_total
      from public.customer_purchase_history where customer_id = 'SA-M1' order by purchased_at, line_number$$,
    $$values ('SA-T2'::text, 1, 'sale'::text, 'Blue Dream 3.5g'::text, 'Flower'::text, 1, 1, 50.00::numeric),
             ('SA-T1', 1, 'sale', 'Blue Dream 3.5g', 'Flower', 2, 2, 60.00),
             ('SA-T1', 2, 'sale', 'Mango Gummies', 'Edibles', 1, 1, 40.00),
             ('SA-T3', 1, 'refund', 'Mango Gummies', 'Edibles', 1, -1, -20.00)$$,
    'purchase history: one row per line of completed sales and refunds, refunds negative, voided excluded'
);
select is(
    (
        select count(*)::integer from public.customer_purchase_history
        where transaction_id = 'SA-T5'
    ),
    0, 'walk-in sales are in no customer''s history'
);
select results_eq(
    $$select purchase_date, product_sku, product_id, product_name, category, brand
      from public.customer_purchase_history where customer_id = 'SA-M2' order by purchased_at$$,
    $$values ('2025-01-31'::date, null::text, null::text, 'House pre-roll'::text, null::text, null::text),
             ('2025-02-01', 'SA-SKU-2', 'SA-P2', 'Mango Gummies', 'Edibles', 'Wyld')$$,
    'the purchase date is the store''s; a line without its own name or category takes the catalogue''s'
);

select results_eq(
    $$select orders, refunds, gross_spend, refunded, net_spend, average_basket, average_items_per_basket,
             first_purchase_date, last_purchase_date
      from public.customer_spending_analysis where customer_id = 'SA-M1'$$,
    $$values (2, 1, 150.00::numeric, 20.00::numeric, 130.00::numeric, 75.00::numeric, 2.00::numeric,
              conductor.store_today() - 100, conductor.store_today() - 10)$$,
    'totals: 2 orders of 100 and 50, a 20 refund, a voided 999 ignored; 4 units over 2 baskets'
);
select results_eq(
    $$select spend_by_category, top_category, recent_spend, previous_spend, spend_change_ratio, spend_trend
      from public.customer_spending_analysis where customer_id = 'SA-M1'$$,
    $$values ('{"Flower": 110.00, "Edibles": 20.00}'::jsonb, 'Flower'::text, 80.00::numeric, 50.00::numeric,
              0.6000::numeric, 'rising'::text)$$,
    'categories net of refunds; last 90 days 100 - 20 = 80 against 50 before: +60%, rising'
);
select results_eq(
    $$select spend_by_month, active_months, average_spend_per_active_month, recent_spend, previous_spend, spend_trend
      from public.customer_spending_analysis where customer_id = 'SA-M2'$$,
    $$values ('{"2025-01": 10.00, "2025-02": 20.00}'::jsonb, 2, 15.00::numeric, 0::numeric, 0::numeric, 'inactive'::text)$$,
    'months are the store''s: 23:30 on Jan 31 counts in January; nothing in either window is inactive'
);
select results_eq(
    $$select orders, net_spend, average_basket, spend_by_month, spend_by_category, top_category, spend_trend
      from public.customer_spending_analysis where customer_id = 'SA-M3'$$,
    $$values (0, 0::numeric, null::numeric, '{}'::jsonb, '{}'::jsonb, null::text, null::text)$$,
    'a customer without purchases: zeros, empty maps, no trend'
);
select results_eq(
    $$select recent_spend, previous_spend, spend_change_ratio, spend_trend
      from public.customer_spending_analysis where customer_id = 'SA-M4'$$,
    $$values (50.00::numeric, 100.00::numeric, -0.5000::numeric, 'declining'::text)$$,
    '50 against 100: -50%, declining'
);
select is(
    (
        select spend_trend from public.customer_spending_analysis
        where customer_id = 'SA-M5'
    ), 'new',
    'a first sale within the window is new'
);

update conductor.settings set value = '0.7'
where key = 'spending_trend_change_ratio';
select is(
    (
        select spend_trend from public.customer_spending_analysis
        where customer_id = 'SA-M1'
    ), 'steady',
    '+60% is steady when the change ratio setting is 0.7'
);
update conductor.settings set value = '6'
where key = 'spending_trend_window_days';
select results_eq(
    $$select recent_spend, previous_spend, spend_trend from public.customer_spending_analysis where customer_id = 'SA-M1'$$,
    $$values (-20.00::numeric, 100.00::numeric, 'declining'::text)$$,
    'the window follows spending_trend_window_days (the last 6 days, today included, hold the refund; the 6 before, the 100 sale)'
);
update conductor.settings set value = '"America/New_York"'
where key = 'store_time_zone';
select is(
    (
        select spend_by_month from public.customer_spending_analysis
        where customer_id = 'SA-M2'
    ),
    '{"2025-02": 30.00}'::jsonb,
    'months follow the store_time_zone setting (in New York both sales are in February)'
);

set local role service_role;
select is(
    (
        select count(*)::integer from public.customer_purchase_history
        where customer_id like 'SA-%'
    ), 6,
    'service_role reads the purchase history'
);
select is(
    (
        select count(*)::integer from public.customer_spending_analysis
        where customer_id like 'SA-%'
    ), 5,
    'service_role reads the spending analysis'
);
reset role;
set local role authenticated;
select throws_ok(
    'select count(*) from public.customer_spending_analysis', '42501', null,
    'authenticated cannot read it'
);
reset role;

select * from finish();
rollback;
