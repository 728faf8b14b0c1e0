-- public.win_back_priority_queue (materialized view, refreshed concurrently by
-- conductor.refresh_win_back) ranks lapsed customers (churn above Low) by the seeds' win-back score,
-- one row per phone, never an opted-out number, with the offer for their favourite category from
-- conductor.offers (else the default_offer setting). public.get_win_back_targets pages through it
-- and drops anyone who opted out or came back since the refresh.
begin;
select plan(11);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.products (product_id, sku, name, category) values
('WB-P1', 'WB-1', 'Cart', 'Vapes'), ('WB-P2', 'WB-2', 'Gummies', 'Edibles'), ('WB-P3', 'WB-3', 'Eighth', 'Flower');
insert into public.customers (member_id, phone, loyalty_points) values
('WB-VAPE', '+16195550701', 100),
('WB-EDIBLE', '+16195550702', 0),
('WB-FLOWER', '+16195550703', 50),
('WB-RECENT', '+16195550704', 0),
('WB-STOP', '+16195550705', 0),
('WB-HOUSE1', '+16195550706', 0),
('WB-HOUSE2', '+16195550706', 0);
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('WB-T1', 'WB-VAPE', pg_temp.at(100), 200.00),
('WB-T2', 'WB-VAPE', pg_temp.at(90), 100.00),
('WB-T3', 'WB-EDIBLE', pg_temp.at(40), 50.00),
('WB-T4', 'WB-FLOWER', pg_temp.at(60), 80.00),
('WB-T5', 'WB-RECENT', pg_temp.at(5), 500.00),
('WB-T6', 'WB-STOP', pg_temp.at(70), 900.00),
('WB-T7', 'WB-HOUSE1', pg_temp.at(45), 20.00),
('WB-T8', 'WB-HOUSE2', pg_temp.at(50), 10.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('WB-T1', 1, 'WB-1', 1, 200, 200), ('WB-T2', 1, 'WB-1', 1, 100, 100), ('WB-T3', 1, 'WB-2', 1, 50, 50),
('WB-T4', 1, 'WB-3', 1, 80, 80);
insert into conductor.opt_outs (phone_number, keyword) values ('+16195550705', 'STOP');

select ok(conductor.refresh_win_back(), 'refresh_win_back refreshes the queue');
-- score = LTV x 0.3 + visits x 2 + 30 / days + points x 0.2:
-- VAPE 300 x 0.3 + 2 x 2 + 30 / 90 + 100 x 0.2 = 114.33; FLOWER 24 + 2 + 0.5 + 10 = 36.50;
-- EDIBLE 15 + 2 + 0.75 = 17.75; HOUSE1 6 + 2 + 0.67 = 8.67 (HOUSE2 3 + 2 + 0.6 = 5.60 shares its phone).
select results_eq(
    $$select priority_rank, customer_id, win_back_score, favorite_category, recommended_offer, customers_sharing_phone
      from public.win_back_priority_queue order by priority_rank$$,
    $$values
        (1::bigint, 'WB-VAPE'::text, 114.33::numeric, 'Vapes'::text, '20% off all vapes'::text, 1),
        (2::bigint, 'WB-FLOWER'::text, 36.50::numeric, 'Flower'::text, '$10 off next purchase'::text, 1),
        (3::bigint, 'WB-EDIBLE'::text, 17.75::numeric, 'Edibles'::text, 'Buy 2 get 1 free edibles'::text, 1),
        (4::bigint, 'WB-HOUSE1'::text, 8.67::numeric, null::text, '$10 off next purchase'::text, 2)$$,
    'lapsed customers ranked by score with the offer for their favourite category; one row per phone'
);
select is_empty(
    $$select 1 from public.win_back_priority_queue where customer_id in ('WB-RECENT', 'WB-STOP', 'WB-HOUSE2')$$,
    'not a recent visitor, an opted-out number or a second customer on a phone'
);
select isnt_empty(
    $$select 1 from pg_catalog.pg_indexes where schemaname = 'public' and tablename = 'win_back_priority_queue'
      and indexdef like 'CREATE UNIQUE INDEX % (customer_id)'$$,
    'a unique index on customer_id lets it refresh concurrently'
);

insert into conductor.offers (category, offer_text) values ('Flower', 'A free pre-roll with any eighth');
select ok(conductor.refresh_win_back(), 'refreshed again');
select is(
    (
        select recommended_offer from public.win_back_priority_queue
        where customer_id = 'WB-FLOWER'
    ),
    'A free pre-roll with any eighth', 'offers come from conductor.offers'
);

select results_eq(
    $$select priority_rank, customer_id from public.get_win_back_targets(page => 2, page_size => 2)$$,
    $$values (3::bigint, 'WB-EDIBLE'::text), (4::bigint, 'WB-HOUSE1'::text)$$,
    'page 2 of 2 rows'
);
-- Since the refresh: FLOWER came back, EDIBLE opted out.
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('WB-T9', 'WB-FLOWER', pg_temp.at(0), 10.00);
insert into conductor.opt_outs (phone_number, keyword) values ('+16195550702', 'STOP');
select results_eq(
    $$select customer_id, days_since_last_visit from public.get_win_back_targets()$$,
    $$values ('WB-VAPE'::text, 90), ('WB-HOUSE1'::text, 45)$$,
    'who came back or opted out since the refresh is left out'
);
select throws_ok(
    $$select * from public.get_win_back_targets(0)$$, '22023', 'page is out of range: must be between 1 and 1000000, got 0',
    'page from 1'
);
select throws_ok(
    $$select * from public.get_win_back_targets(1, 0)$$, '22023', 'page_size is out of range: must be between 1 and 1000, got 0',
    'page_size from 1'
);
set local role service_role;
select is((select count(*)::integer from public.get_win_back_targets()), 2, 'service_role calls it');
reset role;

select * from finish();
rollback;
