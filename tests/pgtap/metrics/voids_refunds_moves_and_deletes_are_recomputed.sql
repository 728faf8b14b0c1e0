-- Updates and deletes are maintained like inserts: voiding a sale takes it out of every metric
-- (and un-voiding puts it back), moving a sale to another day or customer moves its visit,
-- deleting a line or a whole transaction removes what it contributed; each time the values
-- equal a rebuild from the raw tables.
begin;
select plan(12);

create function pg_temp.at(p_days_ago integer, p_time time default '12:00')
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + p_time) at time zone conductor.store_time_zone()
$$;

insert into public.products (product_id, sku, name, category) values ('VP-1', 'VR-1', 'Vape pen', 'Vapes');
insert into public.customers (member_id) values ('VR-M1'), ('VR-M2');
insert into public.transactions (transaction_id, customer_id, date, staff_name, shop_location, total_amount) values
('VR-T1', 'VR-M1', pg_temp.at(20), 'Kai', 'Harbor', 40.00),
('VR-T2', 'VR-M1', pg_temp.at(10), 'Kai', 'Harbor', 60.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('VR-T1', 1, 'VR-1', 1, 40.00, 40.00), ('VR-T2', 1, 'VR-1', 2, 30.00, 60.00);

update public.transactions set status = 'voided'
where transaction_id = 'VR-T2';
select results_eq(
    $$select total_visits, total_sales, lifetime_value, last_visited from public.customers where member_id = 'VR-M1'$$,
    $$values (1, 1, 40.00::numeric, conductor.store_today() - 20)$$,
    'a voided sale counts nowhere for the customer'
);
select results_eq(
    $$select purchase_count, units_purchased, total_spent from public.customer_product_affinity
      where customer_id = 'VR-M1'$$,
    $$values (1, 1, 40.00::numeric)$$,
    'nor for the product'
);
select results_eq(
    $$select total_transactions, total_sales from public.staff where staff_name = 'Kai'$$,
    $$values (1, 40.00::numeric)$$,
    'nor for the budtender'
);

update public.transactions set status = 'completed'
where transaction_id = 'VR-T2';
select results_eq(
    $$select total_visits, lifetime_value from public.customers where member_id = 'VR-M1'$$,
    $$values (2, 100.00::numeric)$$,
    'un-voiding puts it back'
);

update public.transactions set date = pg_temp.at(30)
where transaction_id = 'VR-T2';
select results_eq(
    $$select first_visited, last_visited, days_since_last_visit from public.customers where member_id = 'VR-M1'$$,
    $$values (conductor.store_today() - 30, conductor.store_today() - 20, 20)$$,
    'a sale moved to another day moves the visit'
);
select results_eq(
    $$select first_purchased, last_purchased, repurchase_share from conductor.ranked_product_affinity
      where customer_id = 'VR-M1'$$,
    $$values (conductor.store_today() - 30, conductor.store_today() - 20, 1.0000::numeric)$$,
    'and the product dates'
);

update public.transactions set customer_id = 'VR-M2'
where transaction_id = 'VR-T2';
select results_eq(
    $$select member_id, total_visits, lifetime_value from public.customers
      where member_id in ('VR-M1', 'VR-M2') order by member_id$$,
    $$values ('VR-M1'::text, 1, 40.00::numeric), ('VR-M2'::text, 1, 60.00::numeric)$$,
    'a sale given to another customer moves to them'
);

update public.transactions set staff_name = 'Ivy'
where transaction_id = 'VR-T2';
select results_eq(
    $$select staff_name, total_transactions, total_sales from public.staff order by staff_name$$,
    $$values ('Ivy'::text, 1, 60.00::numeric), ('Kai'::text, 1, 40.00::numeric)$$,
    'a sale given to another budtender moves between staff rows'
);

delete from public.transaction_items
where transaction_id = 'VR-T2';
select is_empty(
    $$select 1 from public.customer_product_affinity where customer_id = 'VR-M2'$$,
    'deleting the only line of a product removes its affinity row'
);

delete from public.transactions
where transaction_id = 'VR-T1';
select results_eq(
    $$select total_visits, total_sales, gross_sales, lifetime_value, first_visited, vip_status, churn_risk, lead_score
      from public.customers where member_id = 'VR-M1'$$,
    $$values (0, 0, 0.00::numeric, 0.00::numeric, null::date, 'New'::text, null::text, 6::smallint)$$,
    'deleting the last transaction leaves the customer with no purchases'
);
select is_empty(
    $$select 1 from public.customer_visit_patterns where customer_id = 'VR-M1'
      union all select 1 from public.customer_product_affinity where customer_id = 'VR-M1'$$,
    'and without visit pattern or product affinity'
);

select is(
    conductor.rebuild_all(),
    '{"customers": 0, "customer_visit_patterns": 0, "customer_product_affinity": 0, "staff": 0}'::jsonb,
    'the maintained values equal a rebuild'
);

select * from finish();
rollback;
