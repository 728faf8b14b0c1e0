-- Changing a customer's member_id (the business key) cascades to its transactions; its metrics,
-- visit pattern and product affinity follow it to the new id, nothing stays under the old one,
-- and a changed registration date moves date_joined.
begin;
select plan(6);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.products (product_id, sku, name) values ('RN-P1', 'RN-1', 'Pre-roll');
insert into public.customers (member_id, registered_on) values ('RN-OLD', conductor.store_today());
insert into public.transactions (transaction_id, customer_id, date, staff_name, shop_location, total_amount) values
('RN-T1', 'RN-OLD', pg_temp.at(9), 'Kai', 'Harbor', 12.00),
('RN-T2', 'RN-OLD', pg_temp.at(2), 'Kai', 'Harbor', 12.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('RN-T1', 1, 'RN-1', 1, 12.00, 12.00), ('RN-T2', 1, 'RN-1', 1, 12.00, 12.00);

update public.customers set member_id = 'RN-NEW'
where member_id = 'RN-OLD';
select results_eq(
    $$select member_id, total_visits, lifetime_value, date_joined from public.customers where member_id like 'RN-%'$$,
    $$values ('RN-NEW'::text, 2, 24.00::numeric, conductor.store_today() - 9)$$,
    'the renamed customer keeps its metrics'
);
select results_eq(
    $$select customer_id, total_visits, avg_days_between_visits from public.customer_visit_patterns
      where customer_id like 'RN-%'$$,
    $$values ('RN-NEW'::text, 2, 7.00::numeric)$$,
    'its visit pattern follows it'
);
select results_eq(
    $$select customer_id, purchase_count, repurchase_share from conductor.ranked_product_affinity
      where customer_id like 'RN-%'$$,
    $$values ('RN-NEW'::text, 2, 1.0000::numeric)$$,
    'its product affinity follows it'
);

update public.customers set registered_on = conductor.store_today() - 100
where member_id = 'RN-NEW';
select is(
    (
        select date_joined from public.customers
        where member_id = 'RN-NEW'
    ),
    conductor.store_today() - 100,
    'an earlier registration date becomes date_joined'
);
update public.customers set registered_on = null
where member_id = 'RN-NEW';
select is(
    (
        select date_joined from public.customers
        where member_id = 'RN-NEW'
    ),
    conductor.store_today() - 9,
    'without one, date_joined is the first visit'
);

select is(
    conductor.rebuild_all(),
    '{"customers": 0, "customer_visit_patterns": 0, "customer_product_affinity": 0, "staff": 0}'::jsonb,
    'the maintained values equal a rebuild'
);

select * from finish();
rollback;
