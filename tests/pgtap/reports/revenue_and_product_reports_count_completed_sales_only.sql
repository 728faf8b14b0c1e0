-- The executive and operations reports on a hand-made store: revenue by store day, today
-- against yesterday, by month and by location; product, category and brand performance; slow
-- movers; products bought together with support, confidence and lift; and the seed's own
-- bought-together and category-combination queries as written. Voided sales count nowhere in
-- the package's reports; refunds net out.
begin;
select plan(18);

create function pg_temp.store_at(p_days_ago integer, p_hour integer) returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + make_time(p_hour, 0, 0)) at time zone conductor.store_time_zone()
$$;

insert into public.products (product_id, sku, name, brand, category, is_active) values
('RP-P1', 'RP-1', 'Blue Dream 3.5g', 'Alpha', 'Flower', true),
('RP-P2', 'RP-2', 'Mango Gummies', 'Beta', 'Edibles', true),
('RP-P3', 'RP-3', 'OG Cart', 'Alpha', 'Vapes', true),
('RP-P4', 'RP-4', 'Never Sold Tincture', 'Beta', 'Tinctures', true),
('RP-P5', 'RP-5', 'Retired Pre-roll', 'Beta', 'Pre-rolls', false);
insert into public.customers (member_id, name) values ('RP-M1', 'Ada'), ('RP-M2', 'Bo');

insert into public.transactions
(transaction_id, customer_id, date, shop_location, staff_name, transaction_type, status, total_amount)
values
('RP-T1', 'RP-M1', pg_temp.store_at(0, 1), 'Downtown', 'Alex', 'sale', 'completed', 50),
('RP-T2', 'RP-M2', pg_temp.store_at(0, 2), 'La Mesa', 'Bo', 'sale', 'completed', 30),
('RP-T3', 'RP-M1', pg_temp.store_at(1, 12), 'Downtown', 'Alex', 'sale', 'completed', 40),
('RP-T4', 'RP-M1', pg_temp.store_at(0, 3), 'Downtown', 'Alex', 'refund', 'completed', -20),
('RP-T5', 'RP-M2', pg_temp.store_at(0, 4), 'Downtown', 'Alex', 'sale', 'voided', 100);
insert into public.transaction_items
(transaction_id, line_number, product_sku, product_name, category, brand, quantity, unit_price, total_price)
values
('RP-T1', 1, 'RP-1', 'Blue Dream 3.5g', 'Flower', 'Alpha', 1, 30, 30),
('RP-T1', 2, 'RP-2', 'Mango Gummies', 'Edibles', 'Beta', 1, 20, 20),
('RP-T2', 1, 'RP-1', 'Blue Dream 3.5g', 'Flower', 'Alpha', 1, 30, 30),
('RP-T3', 1, 'RP-3', 'OG Cart', 'Vapes', 'Alpha', 2, 20, 40),
('RP-T4', 1, 'RP-2', 'Mango Gummies', 'Edibles', 'Beta', 1, 20, -20),
('RP-T5', 1, 'RP-1', 'Blue Dream 3.5g', 'Flower', 'Alpha', 1, 30, 30),
('RP-T5', 2, 'RP-3', 'OG Cart', 'Vapes', 'Alpha', 1, 70, 70);

select results_eq(
    $$select sales, refunds, gross_sales, refunded, net_revenue, avg_transaction, customers
      from public.report_revenue_by_day where day = conductor.store_today()$$,
    $$values (2::bigint, 1::bigint, 80::numeric, 20::numeric, 60::numeric, 40.00::numeric, 2::bigint)$$,
    'today: two completed sales, the refund nets out, the voided sale counts nowhere'
);
select results_eq(
    $$select sales, net_revenue, avg_transaction from public.report_revenue_by_day
      where day = conductor.store_today() - 1$$,
    $$values (1::bigint, 40::numeric, 40.00::numeric)$$,
    'yesterday: one sale'
);
select results_eq(
    $$select sales_today, net_revenue_today, sales_yesterday, net_revenue_yesterday, change, change_ratio
      from public.report_revenue_today$$,
    $$values (2::bigint, 60::numeric, 1::bigint, 40::numeric, 20::numeric, 0.5000::numeric)$$,
    'today against yesterday'
);
select results_eq(
    $$select sum(sales)::bigint, sum(net_revenue) from public.report_revenue_by_month$$,
    $$values (3::bigint, 100::numeric)$$,
    'the months hold the same sales and net revenue'
);
select results_eq(
    $$select shop_location, sales, gross_sales, refunded, net_revenue, avg_transaction, unique_customers
      from public.report_revenue_by_location order by shop_location$$,
    $$values
        ('Downtown'::text, 2::bigint, 90::numeric, 20::numeric, 70::numeric, 45.00::numeric, 1::bigint),
        ('La Mesa'::text, 1::bigint, 30::numeric, 0::numeric, 30::numeric, 30.00::numeric, 1::bigint)$$,
    'revenue by location'
);
select results_eq(
    $$select product_sku, transactions, units_sold, gross_sales, refunded, net_revenue, customers, revenue_rank
      from public.report_product_performance order by revenue_rank$$,
    $$values
        ('RP-1'::text, 2::bigint, 2::bigint, 60::numeric, 0::numeric, 60::numeric, 2::bigint, 1::bigint),
        ('RP-3'::text, 1::bigint, 2::bigint, 40::numeric, 0::numeric, 40::numeric, 1::bigint, 2::bigint),
        ('RP-2'::text, 1::bigint, 1::bigint, 20::numeric, 20::numeric, 0::numeric, 1::bigint, 3::bigint)$$,
    'products ranked by net revenue; the refunded gummies net to zero'
);
select results_eq(
    $$select category, net_revenue, products from public.report_category_performance order by category$$,
    $$values ('Edibles'::text, 0::numeric, 1::bigint), ('Flower'::text, 60::numeric, 1::bigint),
             ('Vapes'::text, 40::numeric, 1::bigint)$$,
    'category performance'
);
select results_eq(
    $$select category, sum(transactions)::bigint, sum(units_sold)::bigint, sum(net_revenue)
      from public.report_category_by_month group by category order by category$$,
    $$values ('Edibles'::text, 1::bigint, 1::bigint, 0::numeric), ('Flower'::text, 2::bigint, 2::bigint, 60::numeric),
             ('Vapes'::text, 1::bigint, 2::bigint, 40::numeric)$$,
    'category trends: the months add up to each category''s performance'
);
select results_eq(
    $$select brand, net_revenue, products from public.report_brand_performance order by brand$$,
    $$values ('Alpha'::text, 100::numeric, 2::bigint), ('Beta'::text, 0::numeric, 1::bigint)$$,
    'brand performance'
);
select results_eq(
    $$select product_sku, units_30d, slow_moving, days_since_last_sale from public.report_slow_moving_products
      order by product_sku$$,
    $$values ('RP-1'::text, 2::bigint, false, 0), ('RP-2'::text, 1::bigint, false, 0),
             ('RP-3'::text, 2::bigint, false, 1), ('RP-4'::text, 0::bigint, true, null::integer)$$,
    'every active product with its recent units; the never-sold one is slow-moving, the inactive one absent'
);
select results_eq(
    $$select product_a, product_b, baskets_together, baskets_with_a, baskets_with_b, baskets_total, support,
             confidence_a_to_b, confidence_b_to_a, lift
      from public.report_cross_sell_pairs$$,
    $$values ('RP-1'::text, 'RP-2'::text, 1::bigint, 2::bigint, 1::bigint, 3::bigint, 0.333333::numeric,
              0.5000::numeric, 1.0000::numeric, 1.5000::numeric)$$,
    'one pair over three baskets: support 1/3, confidence 1/2 and 1, lift 1.5; the voided basket is not one'
);
select results_eq(
    $$select product_1, product_2, times_bought_together from public.report_products_bought_together
      order by product_1, product_2$$,
    $$values ('Blue Dream 3.5g'::text, 'Mango Gummies'::text, 1::bigint),
             ('Blue Dream 3.5g'::text, 'OG Cart'::text, 1::bigint)$$,
    'the seed''s bought-together query as written: every transaction''s lines, the voided one too'
);
select results_eq(
    $$select category_1, category_2, times_bought_together from public.report_category_combinations
      order by category_1, category_2$$,
    $$values ('Edibles'::text, 'Flower'::text, 1::bigint), ('Flower'::text, 'Vapes'::text, 1::bigint)$$,
    'the seed''s category combinations as written'
);
select results_eq(
    $$select staff_name, shop_location, sum(transactions)::bigint, sum(total_sales), sum(refunds)::bigint,
             sum(refunded)
      from public.report_staff_by_month group by staff_name, shop_location order by staff_name$$,
    $$values ('Alex'::text, 'Downtown'::text, 2::bigint, 90::numeric, 1::bigint, 20::numeric),
             ('Bo'::text, 'La Mesa'::text, 1::bigint, 30::numeric, 0::bigint, 0::numeric)$$,
    'staff performance over the months'
);

insert into public.scheduled_messages
(
    customer_id, phone_number, message_content, scheduled_send_time, status, delivery_status, campaign_name,
    generation_cost, strategy_type, confidence_score
)
values
('RP-M1', '+16195550801', 'Hi', now() + interval '1 day', 'sent', 'delivered', 'Spring', 0.01, 'win_back', 0.8),
('RP-M2', '+16195550802', 'Hi', now() + interval '1 day', 'sent', null, 'Spring', 0.02, 'win_back', 0.6),
('RP-M1', '+16195550801', 'Hi', now() + interval '1 day', 'skipped', null, 'Spring', 0.03, 'loyalty', 0.9);
select results_eq(
    $$select campaign_name, messages_sent, unique_customers, delivered, sent, total_cost, avg_cost_per_message
      from public.report_campaign_effectiveness$$,
    $$values ('Spring'::text, 3::bigint, 2::bigint, 1::bigint, 2::bigint, 0.0600::numeric, 0.02::numeric)$$,
    'the seed''s campaign effectiveness: every scheduled row counts as the seed counts it'
);
select results_eq(
    $$select strategy_type, messages, avg_confidence, delivered, total_cost
      from public.report_strategy_effectiveness order by strategy_type$$,
    $$values ('loyalty'::text, 1::bigint, 0.9::numeric, 0::bigint, 0.0300::numeric),
             ('win_back'::text, 2::bigint, 0.7::numeric, 1::bigint, 0.0300::numeric)$$,
    'the seed''s strategy effectiveness'
);

set local role service_role;
select lives_ok(
    $$select count(*) from public.report_revenue_by_day, public.report_cross_sell_pairs,
      public.report_slow_moving_products, public.report_staff_by_month$$,
    'service_role reads the reports'
);
reset role;
set local role anon;
select throws_ok($$select count(*) from public.report_revenue_by_day$$, '42501', null, 'anon cannot');
reset role;

select * from finish();
rollback;
