-- The demo data arrived the way a POS export does: through the staging tables and one import
-- batch per entity, with the planted bad rows recorded as data issues. And it has the shape of a
-- real shop: walk-ins, refunds tied to their sale, a few customers with 200+ visit days.
begin;
select plan(8);

select is(
    (select array_agg(distinct entity order by entity) from conductor.import_batches),
    array['customers', 'products', 'staff', 'transaction_items', 'transactions'],
    'every POS entity was imported as a batch'
);
select is(
    (
        select count(*)::integer from (
            select from conductor.staging_customers
            union all
            select from conductor.staging_products
            union all
            select from conductor.staging_staff
            union all
            select from conductor.staging_transactions
            union all
            select from conductor.staging_transaction_items
        ) as staged
    ),
    0,
    'the imports consumed every staged row'
);
select ok(
    (
        select bool_and(rows_read = rows_inserted + rows_updated + rows_unchanged + rows_rejected)
        from conductor.import_batches
    ),
    'every batch accounts for each row it read'
);
select is(
    (select array_agg(distinct action order by action) from conductor.data_issues),
    array['field_cleared', 'rejected'],
    'the demo shows rejected rows and cleared fields'
);
select ok(
    (
        select count(*) > 0 from public.transactions
        where customer_id is null and transaction_type = 'sale'
    ),
    'there are walk-in sales'
);
select is_empty(
    $$select r.transaction_id from public.transactions as r
      left join public.transactions as s on s.transaction_id = r.refunded_transaction_id
      where r.transaction_type = 'refund'
        and (s.transaction_id is null or s.transaction_type <> 'sale'
             or s.customer_id is distinct from r.customer_id or s.date > r.date)$$,
    'every refund refunds an earlier sale of the same customer'
);
select cmp_ok(
    (
        select count(*)::integer from (
            select t.customer_id
            from public.transactions as t
            where t.customer_id is not null and t.status = 'completed' and t.transaction_type = 'sale'
            group by t.customer_id
            having count(distinct(t.date at time zone conductor.store_time_zone())::date) >= 200
        ) as heavy
    ),
    '>=',
    2,
    'a few customers have 200+ visit days'
);
select ok(
    (
        select count(*) > 0 from public.customers
        where phone is null
    ),
    'some customers have no phone'
);

select * from finish();
rollback;
