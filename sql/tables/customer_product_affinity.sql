-- Per customer and product: how often and how much they bought it, maintained by Conductor
-- from completed transactions (refunds reduce the amounts; voided ones count nowhere). One row
-- per (customer, sku) with at least one completed sale line; lines without a sku count nowhere.
-- The columns named in seed 000 compute its formulas (docs/seed-fidelity.md);
-- avg_unit_price_weighted is the package's own measure. The package's repurchase_share is computed
-- where it is read (conductor.ranked_product_affinity, customer_sms_context) from purchase_days,
-- first_visit_number and the customer's visit count: stored, every new visit would rewrite all of
-- the customer's rows.
-- Foreign key to customers (seed 002); none to products: a row's sku is always that of sale lines,
-- whose own foreign key keeps the product (a product with lines cannot be deleted, and a renamed
-- sku reaches the lines, whose trigger moves the rows), so a check of every written row against
-- products would only repeat it (two checks per new row made a bulk load's affinity half again as
-- slow). conductor.rebuild_all recomputes every customer's rows from the lines.
-- Storage: a partitioned table whose only partition, conductor.customer_product_affinity_rows
-- (DEFAULT), holds every row. Queries, upserts and the API go through the public table; a first
-- load or a rebuild from raw rows (an empty table) builds a fresh partition without indexes or
-- foreign-key checks per row and swaps it in (conductor.swap_in_product_affinity), so it pays one
-- sort per index and one foreign-key query instead of a probe per row.
select pg_temp.claim_table('public', 'customer_product_affinity');
select pg_temp.claim_table('conductor', 'customer_product_affinity_rows');

-- An install before the partitioned layout kept the rows in a plain table of the public name. Its
-- columns are brought up to date (the steps earlier installs made), then it becomes the partition:
-- renamed and moved to conductor with its rows, indexes and constraints, attached below.
do $plain_table$
begin
    if (
        select c.relkind from pg_catalog.pg_class as c
        where c.oid = to_regclass('public.customer_product_affinity')
    ) is distinct from 'r' then
        return;
    end if;
    -- seed 000's AVG(unit_price) is unrounded (dropping a numeric typmod rewrites nothing;
    -- conductor.converge_derived_formulas() recomputes the values)
    if (
        select a.atttypmod from pg_catalog.pg_attribute as a
        where a.attrelid = 'public.customer_product_affinity'::regclass and a.attname = 'avg_price_paid'
    ) <> -1 then
        alter table public.customer_product_affinity alter column avg_price_paid type numeric;
    end if;
    alter table public.customer_product_affinity add column if not exists avg_unit_price_weighted numeric(12, 2);
    alter table public.customer_product_affinity drop column if exists repurchase_share;
    alter table public.customer_product_affinity add column if not exists purchase_days integer;
    alter table public.customer_product_affinity add column if not exists first_visit_number integer;
    alter table public.customer_product_affinity add column if not exists sale_lines integer;
    alter table public.customer_product_affinity add column if not exists sale_unit_price_sum numeric;
    alter table public.customer_product_affinity add column if not exists sale_spent numeric(14, 2);
    alter table public.customer_product_affinity drop constraint if exists customer_product_affinity_product_sku_fkey;
    drop index if exists public.customer_product_affinity_ranked_idx;
    alter table public.customer_product_affinity rename to customer_product_affinity_rows;
    alter table public.customer_product_affinity_rows set schema conductor;
    alter index conductor.customer_product_affinity_pkey rename to customer_product_affinity_rows_pkey;
    alter index if exists conductor.customer_product_affinity_product_sku_idx
    rename to customer_product_affinity_rows_product_sku_idx;
end
$plain_table$;

create table if not exists public.customer_product_affinity (
    customer_id text not null,
    product_sku text not null,
    product_name text,
    category text,
    brand text,
    purchase_count integer not null default 0,
    units_purchased integer not null default 0,
    total_spent numeric(14, 2) not null default 0,
    first_purchased date,
    last_purchased date,
    avg_price_paid numeric,
    repurchase_rate numeric(5, 4),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- the package's own measure, beside the seed's
    avg_unit_price_weighted numeric(12, 2),
    -- Maintenance state: the running totals behind the averages and the repurchase share, so a
    -- sale appended after the customer's latest one adds to them instead of re-reading the history.
    purchase_days integer,
    first_visit_number integer,
    sale_lines integer,
    sale_unit_price_sum numeric,
    sale_spent numeric(14, 2),
    constraint customer_product_affinity_pkey primary key (customer_id, product_sku),
    constraint customer_product_affinity_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete cascade,
    constraint customer_product_affinity_repurchase_rate_check check (repurchase_rate between 0 and 1)
) partition by list (customer_id);
-- Who bought a product (a renamed or removed product marks its buyers' AI context stale).
create index if not exists customer_product_affinity_product_sku_idx
on public.customer_product_affinity (product_sku);
-- No index on the ranking columns: a sale changes them in every row it touches, and such an index
-- would make each of those updates write every index entry of the row again. A customer's rows
-- are few and come by the primary key; the AI context reads its top products ready-made
-- (conductor.customer_context).

alter table public.customer_product_affinity enable row level security;

comment on table public.customer_product_affinity is
'Maintained purchase history per customer and product: one row per (customer, sku) bought in at least '
'one completed sale. Days are calendar days in the store_time_zone setting.';
comment on column public.customer_product_affinity.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_product_affinity.product_sku is
'Product (products.sku) of the sale lines counted here; kept in step with products through the lines.';
comment on column public.customer_product_affinity.product_name is 'Product name as sold on the latest sale line.';
comment on column public.customer_product_affinity.category is 'Category as sold on the latest sale line.';
comment on column public.customer_product_affinity.brand is 'Brand as sold on the latest sale line.';
comment on column public.customer_product_affinity.purchase_count is
'Completed sale transactions containing the product (two lines of it on one receipt are one purchase).';
comment on column public.customer_product_affinity.units_purchased is 'Units on those sale lines (refunds not deducted).';
comment on column public.customer_product_affinity.total_spent is
'Dollars on its completed sale lines minus the dollars on its completed refund lines: net spend.';
comment on column public.customer_product_affinity.first_purchased is 'Local date of the first completed sale with it.';
comment on column public.customer_product_affinity.last_purchased is 'Local date of the latest completed sale with it.';
comment on column public.customer_product_affinity.avg_price_paid is
'Seed 000: AVG(unit_price) over its completed sale lines, unrounded (each line counts once, whatever its '
'quantity or discount). See avg_unit_price_weighted for the price actually paid per unit.';
comment on column public.customer_product_affinity.avg_unit_price_weighted is
'Package extension: dollars on its completed sale lines / units on them, rounded to cents: the unit price '
'actually paid, weighted by units and net of line discounts.';
comment on column public.customer_product_affinity.repurchase_rate is
'Seed 000: 1.0 if the product was bought more than once (purchase_count > 1), else 0.0.';
comment on column public.customer_product_affinity.purchase_days is
'Distinct local days with a completed sale line of it (with first_visit_number, the numerator and start '
'of the repurchase share).';
comment on column public.customer_product_affinity.first_visit_number is
'Maintenance state: the visit number (1 = first visit) of first_purchased.';
comment on column public.customer_product_affinity.sale_lines is
'Maintenance state: completed sale lines of it (the count behind avg_price_paid).';
comment on column public.customer_product_affinity.sale_unit_price_sum is
'Maintenance state: sum of unit_price over those lines (the sum behind avg_price_paid).';
comment on column public.customer_product_affinity.sale_spent is
'Maintenance state: dollars on those lines, refunds not deducted (behind avg_unit_price_weighted).';
comment on column public.customer_product_affinity.created_at is 'Row creation time.';
comment on column public.customer_product_affinity.updated_at is 'Last change.';

-- The storage partition: created like the public table (columns, defaults, checks, column
-- comments), or the plain table of an earlier install; attaching it gives it the public table's
-- indexes, foreign key and triggers.
do $storage$
begin
    if to_regclass('conductor.customer_product_affinity_rows') is null then
        create table conductor.customer_product_affinity_rows (
            like public.customer_product_affinity including defaults including constraints including comments
        );
    end if;
    if not exists (
        select from pg_catalog.pg_inherits as i
        where i.inhrelid = 'conductor.customer_product_affinity_rows'::regclass
    ) then
        alter table public.customer_product_affinity
        attach partition conductor.customer_product_affinity_rows default;
    end if;
end
$storage$;
-- Room on each page keeps a sale's updates of its rows heap-only.
alter table conductor.customer_product_affinity_rows set (fillfactor = 80);
alter table conductor.customer_product_affinity_rows enable row level security;
comment on table conductor.customer_product_affinity_rows is
'Storage of public.customer_product_affinity (its only partition): read and written through the public '
'table; conductor.swap_in_product_affinity replaces it by a freshly built one.';
-- Its columns read as the public table's.
do $column_comments$
declare
    v_column record;
begin
    for v_column in
        select a.attname, pg_catalog.col_description(a.attrelid, a.attnum) as description
        from pg_catalog.pg_attribute as a
        where a.attrelid = 'public.customer_product_affinity'::regclass and a.attnum > 0 and not a.attisdropped
    loop
        execute format(
            'comment on column conductor.customer_product_affinity_rows.%I is %L',
            v_column.attname, v_column.description
        );
    end loop;
end
$column_comments$;
