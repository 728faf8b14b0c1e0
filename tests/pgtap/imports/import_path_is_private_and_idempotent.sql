-- The import path: staging tables and import functions live in the private schema, nobody but
-- the owner reaches them, an import upserts by business key, and importing the same rows again
-- changes nothing.
begin;
select plan(26);

select has_table('conductor', t, 'staging table conductor.' || t || ' exists')
from unnest(array[
    'staging_customers', 'staging_products', 'staging_staff', 'staging_transactions',
    'staging_transaction_items'
]) as t;

select has_function('conductor', f, array['text'], 'conductor.' || f || '(text) exists')
from unnest(array[
    'import_products', 'import_customers', 'import_staff', 'import_transactions',
    'import_transaction_items', 'import_all'
]) as f;

select
    ok(
        not has_function_privilege(r, 'conductor.import_all(text)', 'EXECUTE'),
        r || ' cannot run an import'
    )
from unnest(array['anon', 'authenticated', 'service_role']) as r;

select
    ok(
        not has_table_privilege(r, 'conductor.staging_transactions', 'INSERT'),
        r || ' cannot stage rows'
    )
from unnest(array['anon', 'authenticated', 'service_role']) as r;

insert into conductor.staging_products (source, row_number, product_id, sku, name, category, retail_price)
values ('tap', 1, 'P1', 'S1', 'Blue Dream 3.5g', 'Flower', '35.00');
insert into conductor.staging_customers (source, row_number, member_id, name, phone)
values ('tap', 1, 'M1', 'Ann Lee', '619.977.3020'), ('tap', 2, 'M2', 'Bo Diaz', 'not a phone');
insert into conductor.staging_transactions (source, row_number, transaction_id, customer_id, date, total_amount)
values ('tap', 1, 'T1', 'M1', '2025-03-01 14:00:00', '35.00');
insert into conductor.staging_transaction_items (
    source, row_number, transaction_id, line_number, product_sku, quantity, unit_price
)
values ('tap', 1, 'T1', '1', 'S1', '1', '35.00');

create temporary table first_run as select conductor.import_all('tap') as result;
select is(
    (select result -> 'customers' ->> 'inserted' from first_run), '2', 'both customers are imported'
);
select is(
    (select result -> 'customers' ->> 'fields_cleared' from first_run), '1', 'the bad phone is cleared'
);
select is(
    (
        select phone from public.customers
        where member_id = 'M2'
    ), null, 'the customer with the bad phone has none'
);
select is(
    (
        select field || ' ' || action from conductor.data_issues
        where business_key = 'M2'
    ),
    'phone field_cleared',
    'the cleared phone is recorded as a data issue'
);
select is(
    (select count(*)::integer from conductor.staging_customers), 0, 'the import consumed its staged rows'
);
select is(
    (
        select total_price from public.transaction_items
        where transaction_id = 'T1'
    ), 35.00::numeric(12, 2
    ),
    'the line is imported with its computed total'
);

create temporary table stamps as
select
    'customers' as entity,
    member_id as id,
    updated_at
from public.customers
union all
select
    'transactions' as entity,
    transaction_id as id,
    updated_at
from public.transactions;

insert into conductor.staging_products (source, row_number, product_id, sku, name, category, retail_price)
values ('tap', 1, 'P1', 'S1', 'Blue Dream 3.5g', 'Flower', '35');
insert into conductor.staging_customers (source, row_number, member_id, name, phone)
values ('tap', 1, 'M1', 'Ann Lee', '(619) 977-3020'), ('tap', 2, 'M2', 'Bo Diaz', 'not a phone');
insert into conductor.staging_transactions (source, row_number, transaction_id, customer_id, date, total_amount)
values ('tap', 1, 'T1', 'M1', '2025-03-01 14:00', '35');
insert into conductor.staging_transaction_items (
    source, row_number, transaction_id, line_number, product_sku, quantity, unit_price
)
values ('tap', 1, 'T1', '1', 'S1', '1', '35');

create temporary table second_run as select conductor.import_all('tap') as result;
select is(
    (
        select array_agg(e || ':' || (result -> e ->> 'inserted') || '/' || (result -> e ->> 'updated') order by e)
        from second_run, unnest(array['customers', 'products', 'transaction_items', 'transactions']) as e
    ),
    array['customers:0/0', 'products:0/0', 'transaction_items:0/0', 'transactions:0/0'],
    'the same rows written differently import as unchanged'
);
select is(
    (select (result -> 'customers' ->> 'unchanged')::integer from second_run), 2, 'both customers are unchanged'
);
select is_empty(
    $$select s.id from stamps as s
      left join public.customers as c on s.entity = 'customers' and c.member_id = s.id
      left join public.transactions as t on s.entity = 'transactions' and t.transaction_id = s.id
      where coalesce(c.updated_at, t.updated_at) is distinct from s.updated_at$$,
    'no updated_at moved'
);

select * from finish();
rollback;
