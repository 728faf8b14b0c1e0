-- conductor.import_transaction_items(source): staged line items -> public.transaction_items,
-- upserted by (transaction_id, line_number) in ONE statement (the statement-level maintenance
-- triggers run once per import). Rejected (one data issue each, naming the field): no
-- transaction_id; a line_number that is not a whole number > 0; an unknown transaction; an
-- unknown sku; a quantity that is missing, not a whole number or not > 0; a missing, bad or
-- negative unit_price; a bad or negative discount; a bad total_price; an earlier row of a line
-- that appears again later in the batch. A bad thc_content or cbd_content is left out and
-- recorded. Lines without line_number are numbered in row order within their transaction;
-- product attributes left empty are taken from the catalogue; an empty total_price is
-- quantity * unit_price - discount (negative on a refund).
-- Reads and deletes conductor.staging_transaction_items; reads public.transactions,
-- public.products; writes public.transaction_items, conductor.import_batches, conductor.data_issues.

-- Planning: the staged rows are validated into a temporary table first (statistics the
-- planner can see), with nested loops, memoize and join reordering off for that statement
-- only; the upsert is planned with the session's settings, and so are the maintenance
-- triggers it fires. For the whole call JIT is off (compiling these statements costs more
-- than it saves) and work_mem is 64MB (sorts and hashes of a full export stay in memory).
create function conductor.import_transaction_items(p_source text)
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
set work_mem = '64MB'
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    v_batch bigint;
    v_settings jsonb;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_transaction_items as s where s.source = p_source) then
        return conductor.import_batch_result('transaction_items', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('transaction_items', p_source)
    returning id into v_batch;
    -- Every staged row once, each value read once (the lateral subquery is not flattened), with
    -- its first problem as "<field> <what is wrong>" (null when the row is good), in a temporary
    -- table whose statistics the statements below can see.
    analyze conductor.staging_transaction_items;
    v_settings := pg_catalog.jsonb_build_object(
        'enable_nestloop', pg_catalog.current_setting('enable_nestloop'),
        'enable_memoize', pg_catalog.current_setting('enable_memoize'),
        'join_collapse_limit', pg_catalog.current_setting('join_collapse_limit')
    );
    perform pg_catalog.set_config('enable_nestloop', 'off', true);
    perform pg_catalog.set_config('enable_memoize', 'off', true);
    perform pg_catalog.set_config('join_collapse_limit', '1', true);
    drop table if exists pg_temp.conductor_import_items;
    create temporary table conductor_import_items on commit drop as
    select
        s.row_number,
        p.transaction_id,
        coalesce(n.line_value, p.line_value) as line_value,
        p.product_sku,
        coalesce(p.product_name, pr.name) as product_name,
        coalesce(p.brand, pr.brand) as brand,
        coalesce(p.category, pr.category) as category,
        coalesce(p.strain, pr.strain) as strain,
        coalesce(p.flower_type, pr.flower_type) as flower_type,
        case when p.quantity_value between 1 and 2e9 then p.quantity_value::integer end as quantity,
        pg_catalog.round(p.unit_price_value, 2) as unit_price,
        pg_catalog.round(p.discount_value, 2) as discount,
        pg_catalog.round(
            coalesce(
                p.total_price_value,
                (p.quantity_value * p.unit_price_value - p.discount_value)
                * case when t.transaction_type = 'refund' then -1 else 1 end
            ),
            2
        ) as total_price,
        p.thc_text is not null and (p.thc_value is null or p.thc_value < 0 or p.thc_value >= 1e5) as thc_bad,
        p.cbd_text is not null and (p.cbd_value is null or p.cbd_value < 0 or p.cbd_value >= 1e5) as cbd_bad,
        -- An unusable potency falls back to the catalogue's, as an empty one does.
        pg_catalog.round(
            case
                when p.thc_value is null or p.thc_value < 0 or p.thc_value >= 1e5 then pr.thc_content
                else p.thc_value
            end,
            3
        ) as thc_content,
        pg_catalog.round(
            case
                when p.cbd_value is null or p.cbd_value < 0 or p.cbd_value >= 1e5 then pr.cbd_content
                else p.cbd_value
            end,
            3
        ) as cbd_content,
        case
            when p.transaction_id is null then 'transaction_id is missing (it is part of the business key)'
            when n.line_value is null and p.line_value is null then 'line_number is not a number'
            when
                n.line_value is null
                and (p.line_value <= 0 or p.line_value <> pg_catalog.trunc(p.line_value) or p.line_value >= 2e9)
                then 'line_number is not a whole number > 0'
            when t.transaction_id is null then 'transaction_id is not a known transaction'
            when p.product_sku is not null and pr.sku is null then 'product_sku is not a known product'
            when p.quantity_text is null then 'quantity is missing'
            when p.quantity_value is null then 'quantity is not a number'
            when p.quantity_value < 0 then 'quantity is negative'
            when p.quantity_value = 0 then 'quantity is zero'
            when p.quantity_value <> pg_catalog.trunc(p.quantity_value) or p.quantity_value >= 2e9
                then 'quantity is not a whole number'
            when p.unit_price_text is null then 'unit_price is missing'
            when p.unit_price_value is null or p.unit_price_value >= 1e10 then 'unit_price is not an amount'
            when p.unit_price_value < 0 then 'unit_price is negative'
            when p.discount_value is null or p.discount_value >= 1e10 then 'discount is not an amount'
            when p.discount_value < 0 then 'discount is negative'
            when p.total_price_text is not null and p.total_price_value is null then 'total_price is not an amount'
            when
                abs(coalesce(p.total_price_value, p.quantity_value * p.unit_price_value - p.discount_value))
                >= 1e10
                then 'total_price is out of range'
        end as problem
    from conductor.staging_transaction_items as s
    cross join lateral (
        select
            nullif(btrim(s.transaction_id), '') as transaction_id,
            case
                when btrim(s.line_number) ~ v_number then pg_catalog.replace(btrim(s.line_number), ',', '')::numeric
            end as line_value,
            nullif(btrim(s.product_sku), '') as product_sku,
            nullif(btrim(s.product_name), '') as product_name,
            nullif(btrim(s.brand), '') as brand,
            nullif(btrim(s.category), '') as category,
            nullif(btrim(s.strain), '') as strain,
            nullif(btrim(s.flower_type), '') as flower_type,
            nullif(btrim(s.quantity), '') as quantity_text,
            case
                when btrim(s.quantity) ~ v_number then pg_catalog.replace(btrim(s.quantity), ',', '')::numeric
            end as quantity_value,
            nullif(btrim(s.unit_price), '') as unit_price_text,
            case
                when btrim(s.unit_price) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.unit_price), ',', ''), '$', '')::numeric
            end as unit_price_value,
            case
                when nullif(btrim(s.discount), '') is null then 0
                when btrim(s.discount) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.discount), ',', ''), '$', '')::numeric
            end as discount_value,
            nullif(btrim(s.total_price), '') as total_price_text,
            case
                when btrim(s.total_price) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.total_price), ',', ''), '$', '')::numeric
            end as total_price_value,
            nullif(btrim(s.thc_content), '') as thc_text,
            case
                when btrim(s.thc_content) ~ v_number then pg_catalog.replace(btrim(s.thc_content), ',', '')::numeric
            end as thc_value,
            nullif(btrim(s.cbd_content), '') as cbd_text,
            case
                when btrim(s.cbd_content) ~ v_number then pg_catalog.replace(btrim(s.cbd_content), ',', '')::numeric
            end as cbd_value
        offset 0
    ) as p
    -- Lines without a line_number are numbered in row order within their transaction.
    left join (
        select
            b.row_number,
            row_number() over (partition by btrim(b.transaction_id) order by b.row_number) as line_value
        from conductor.staging_transaction_items as b
        where b.source = p_source and nullif(btrim(b.line_number), '') is null
    ) as n on n.row_number = s.row_number
    left join public.transactions as t on t.transaction_id = p.transaction_id
    left join public.products as pr on pr.sku = p.product_sku
    where s.source = p_source;

    -- A line given twice: the last good row wins, earlier ones are rejected.
    update pg_temp.conductor_import_items as v
    set problem = format(
        'line_number is given again for this transaction in the batch: row %s of the source was imported instead',
        d.last_row
    )
    from (
        select r.transaction_id, r.line_value, max(r.row_number) as last_row
        from pg_temp.conductor_import_items as r
        where r.problem is null
        group by r.transaction_id, r.line_value
        having count(*) > 1
    ) as d
    where
        v.problem is null and v.transaction_id = d.transaction_id and v.line_value = d.line_value
        and v.row_number < d.last_row;
    analyze pg_temp.conductor_import_items;
    perform pg_catalog.set_config(e.key, e.value, true) from pg_catalog.jsonb_each_text(v_settings) as e;

    with consumed as (
        delete from conductor.staging_transaction_items as s
        using pg_temp.conductor_import_items as v
        where s.source = p_source and s.row_number = v.row_number
        returning 1
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select
            'transaction_items',
            i.transaction_id || ' #' || coalesce(nullif(btrim(s.line_number), ''), i.line_value::text),
            split_part(i.problem, ' ', 1), pg_catalog.to_jsonb(s) ->> split_part(i.problem, ' ', 1), i.problem,
            i.action, v_batch, i.row_number
        from (
            select v.row_number, v.transaction_id, v.line_value, v.problem, 'rejected' as action
            from pg_temp.conductor_import_items as v
            where v.problem is not null
            union all
            select v.row_number, v.transaction_id, v.line_value, 'thc_content is not a number >= 0', 'field_cleared'
            from pg_temp.conductor_import_items as v
            where v.problem is null and v.thc_bad
            union all
            select v.row_number, v.transaction_id, v.line_value, 'cbd_content is not a number >= 0', 'field_cleared'
            from pg_temp.conductor_import_items as v
            where v.problem is null and v.cbd_bad
        ) as i
        inner join conductor.staging_transaction_items as s on s.source = p_source and s.row_number = i.row_number
        returning action
    ),

    upserted as (
        insert into public.transaction_items as ti (
            transaction_id, line_number, product_sku, product_name, brand, category, strain, flower_type,
            quantity, unit_price, discount, total_price, thc_content, cbd_content
        )
        select
            v.transaction_id, v.line_value::integer, v.product_sku, v.product_name, v.brand, v.category, v.strain,
            v.flower_type, v.quantity, v.unit_price, v.discount, v.total_price, v.thc_content, v.cbd_content
        from pg_temp.conductor_import_items as v
        where v.problem is null
        on conflict (transaction_id, line_number) do update set
            product_sku = excluded.product_sku,
            product_name = excluded.product_name,
            brand = excluded.brand,
            category = excluded.category,
            strain = excluded.strain,
            flower_type = excluded.flower_type,
            quantity = excluded.quantity,
            unit_price = excluded.unit_price,
            discount = excluded.discount,
            total_price = excluded.total_price,
            thc_content = excluded.thc_content,
            cbd_content = excluded.cbd_content
        where (
            ti.product_sku, ti.product_name, ti.brand, ti.category, ti.strain, ti.flower_type, ti.quantity,
            ti.unit_price, ti.discount, ti.total_price, ti.thc_content, ti.cbd_content
        ) is distinct from (
            excluded.product_sku, excluded.product_name, excluded.brand, excluded.category, excluded.strain,
            excluded.flower_type, excluded.quantity, excluded.unit_price, excluded.discount, excluded.total_price,
            excluded.thc_content, excluded.cbd_content
        )
        returning ti.xmax = 0 as inserted
    )

    select
        (select count(*) from consumed) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from issues where action = 'rejected') as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared
    into v_counts;
    drop table pg_temp.conductor_import_items;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('transaction_items', p_source, v_batch);
end
$$;
comment on function conductor.import_transaction_items(text) is
'Imports the staged line items of one source (conductor.staging_transaction_items) into '
'public.transaction_items in one statement, upserting by (transaction_id, line_number); returns the '
'batch counts as jsonb. Re-importing the same rows changes nothing.';
