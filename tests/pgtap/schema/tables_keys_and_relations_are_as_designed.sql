-- The tables of the design exist with their business keys, money as numeric, times as
-- timestamptz, and the foreign keys that tie them together.
begin;
select plan(40);

select has_table('public', t, 'table public.' || t || ' exists')
from unnest(array[
    'customers', 'transactions', 'transaction_items', 'products', 'staff', 'messages', 'leads',
    'customer_visit_patterns', 'customer_product_affinity', 'scheduled_messages',
    'campaign_messages', 'budtenders'
]) as t;

select has_table('conductor', t, 'table conductor.' || t || ' exists')
from unnest(array[
    'settings', 'installed_versions', 'opt_outs', 'data_issues', 'import_batches', 'bridge_health'
]) as t;

select col_is_unique('public', 'customers', array['member_id'], 'customers.member_id is the business key');
select col_is_unique('public', 'transactions', array['transaction_id'], 'transactions.transaction_id is the business key');
select col_is_unique('public', 'products', array['product_id'], 'products.product_id is the business key');
select col_is_unique('public', 'products', array['sku'], 'products.sku is unique');
select col_is_unique(
    'public', 'transaction_items', array['transaction_id', 'line_number'],
    'transaction_items are keyed by transaction and line'
);
select col_is_unique('public', 'messages', array['message_hash'], 'messages.message_hash detects duplicates');
select col_is_unique('public', 'leads', array['phone_number'], 'leads.phone_number is the business key');

select col_type_is('public', 'customers', 'lifetime_value', 'numeric(14,2)', 'money is numeric');
select col_type_is('public', 'transactions', 'total_amount', 'numeric(12,2)', 'amounts are numeric');
select col_type_is('public', 'transactions', 'date', 'timestamp with time zone', 'sale time is timestamptz');
select col_type_is('public', 'messages', 'timestamp', 'timestamp with time zone', 'message time is timestamptz');
select col_type_is('public', 'products', 'effects', 'text[]', 'Leafly effects are an array');

select fk_ok('public', 'transactions', 'customer_id', 'public', 'customers', 'member_id');
select fk_ok('public', 'transaction_items', 'transaction_id', 'public', 'transactions', 'transaction_id');
select fk_ok('public', 'transaction_items', 'product_sku', 'public', 'products', 'sku');
select fk_ok('public', 'customer_visit_patterns', 'customer_id', 'public', 'customers', 'member_id');
select fk_ok('public', 'customer_product_affinity', 'customer_id', 'public', 'customers', 'member_id');
select col_isnt_fk(
    'public', 'customer_product_affinity', 'product_sku',
    'affinity follows products through the sale lines, not a foreign key of its own'
);
select fk_ok('public', 'leads', 'customer_id', 'public', 'customers', 'member_id');
select fk_ok('public', 'scheduled_messages', 'message_id', 'public', 'messages', 'id');

select is_empty(
    $$select format('%I.%I', c.relnamespace::regnamespace, c.relname)
      from pg_catalog.pg_class as c
      where c.relkind in ('r', 'p') and c.relnamespace = 'public'::regnamespace
        and exists (select from pg_catalog.pg_attribute as a
                    where a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped)
        and not exists (select from pg_catalog.pg_trigger as t
                        where t.tgrelid = c.oid and t.tgname = '_900_set_updated_at')$$,
    'every public table with updated_at keeps it by trigger'
);

select is_empty(
    $$select format('%I.%I', c.table_schema, c.table_name) || '.' || c.column_name
      from information_schema.columns as c
      where c.table_schema in ('public', 'conductor')
        and (c.column_name in ('created_at', 'updated_at') or c.column_name like '%\_at')
        and c.data_type <> 'timestamp with time zone'$$,
    'every *_at column is timestamptz'
);

select * from finish();
rollback;
