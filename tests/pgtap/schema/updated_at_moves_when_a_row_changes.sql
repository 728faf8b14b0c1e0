-- updated_at moves to now() when an update changes a row, stays when it changes nothing, and keeps
-- a value the update sets itself. Every _900_set_updated_at trigger decides so in its WHEN clause,
-- and the nightly refresh and a POS sale's maintenance set updated_at in their own statements,
-- so their rows call no trigger function.
begin;
select plan(8);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.customers (member_id, name) values ('UA-1', 'Before');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('UA-T1', 'UA-1', pg_temp.at(40), 20.00),
('UA-T2', 'UA-1', pg_temp.at(30), 20.00);

update public.customers set updated_at = '2020-01-01 00:00:00+00'
where member_id = 'UA-1';
select is(
    (
        select updated_at from public.customers
        where member_id = 'UA-1'
    ), '2020-01-01 00:00:00+00'::timestamptz,
    'an update that sets updated_at keeps its value'
);

update public.customers set name = name
where member_id = 'UA-1';
select is(
    (
        select updated_at from public.customers
        where member_id = 'UA-1'
    ), '2020-01-01 00:00:00+00'::timestamptz,
    'an update that changes nothing leaves it'
);

update public.customers set name = 'After'
where member_id = 'UA-1';
select is(
    (
        select updated_at from public.customers
        where member_id = 'UA-1'
    ), now(),
    'an update that changes the row moves it to now()'
);

-- Yesterday's values, as the nightly job finds them after the store's date turned.
set local session_replication_role = replica;  -- no triggers for this fix-up
update public.customers
set days_since_last_visit = days_since_last_visit - 1, updated_at = '2020-01-01 00:00:00+00'
where member_id = 'UA-1';
update public.customer_visit_patterns
set last_visit_deviation_days = last_visit_deviation_days - 1, updated_at = '2020-01-01 00:00:00+00'
where customer_id = 'UA-1';
set local session_replication_role = origin;

set local track_functions = 'all';
create temporary table calls_before as
select pg_stat_get_xact_function_calls('conductor.tg_set_updated_at()'::regprocedure) as calls;
select is(
    (conductor.nightly_refresh() ->> 'customers')::integer, 1, 'the nightly refresh rewrites the customer'
);
select is(
    (
        select (c.updated_at, p.updated_at)::text from public.customers as c
        inner join public.customer_visit_patterns as p on c.member_id = p.customer_id
        where c.member_id = 'UA-1'
    ),
    (now(), now())::text,
    'and moves updated_at of the customer and of the visit pattern'
);
select is(
    coalesce(pg_stat_get_xact_function_calls('conductor.tg_set_updated_at()'::regprocedure), 0)
    - coalesce((select b.calls from calls_before as b), 0),
    0::bigint,
    'setting it in its own statements: no trigger function call per row'
);

-- A sale on a later day than the customer's, the staff member's and the product's last one: the
-- maintenance updates their customer, visit pattern, affinity and staff rows (their updated_at
-- set back to an earlier day, as it is when the sale comes in a later transaction).
insert into public.products (product_id, sku, name, category) values ('UA-P1', 'UA-SKU-1', 'Gummies', 'Edibles');
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount)
values ('UA-T3', 'UA-1', pg_temp.at(1), 'Downtown', 'UA Alex', 20.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('UA-T3', 1, 'UA-SKU-1', 1, 20, 20);
set local session_replication_role = replica;
update public.customers set updated_at = '2020-01-01 00:00:00+00'
where member_id = 'UA-1';
update public.customer_visit_patterns set updated_at = '2020-01-01 00:00:00+00'
where customer_id = 'UA-1';
update public.customer_product_affinity set updated_at = '2020-01-01 00:00:00+00'
where customer_id = 'UA-1';
update public.staff set updated_at = '2020-01-01 00:00:00+00'
where staff_name = 'UA Alex';
set local session_replication_role = origin;
create temporary table calls_before_sale as
select coalesce(pg_stat_get_xact_function_calls('conductor.tg_set_updated_at()'::regprocedure), 0) as calls;
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount)
values ('UA-T4', 'UA-1', now(), 'Downtown', 'UA Alex', 20.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('UA-T4', 1, 'UA-SKU-1', 1, 20, 20);
select is(
    (
        select
            coalesce(pg_stat_get_xact_function_calls('conductor.tg_set_updated_at()'::regprocedure), 0)
            - b.calls
        from calls_before_sale as b
    ),
    0::bigint,
    'a POS sale''s maintenance calls no updated_at trigger function'
);

select is_empty(
    $$select t.tgrelid::regclass::text from pg_catalog.pg_trigger as t
      where t.tgname = '_900_set_updated_at'
        -- a partition's copy of its table's trigger is that trigger (checked on the table)
        and t.tgparentid = 0
        and pg_catalog.pg_get_triggerdef(t.oid) not like
            '%WHEN (((NOT (old.updated_at IS DISTINCT FROM new.updated_at)) AND (old.* IS DISTINCT FROM new.*)))%'$$,
    'every updated_at trigger fires only for a changed row whose update left updated_at alone'
);

select * from finish();
rollback;
