-- public.blaze_sync_page(entity, blaze_page, sync_cursor): applies one page of the Blaze partner
-- API (members, products or transactions) exactly as Blaze returned it. The page is checked as a
-- whole first (shape, size, shop); then its rows are written into the import staging tables under
-- a label of their own and imported by the same functions as a CSV export
-- (conductor.import_products, import_customers, import_transactions, import_transaction_items),
-- so every rule, data issue and maintenance trigger is the CSV path's; the materialized views are
-- refreshed once at the end. One call is one database transaction: a page is applied whole or not.
-- Order does not matter: a record whose modified is older than the version already applied is
-- skipped; a transaction whose member, product or refunded sale is not stored yet is held in
-- conductor.blaze_pending_transactions and applied by the first call that finds them stored, or
-- after blaze_pending_grace_hours with the import's data issues. Given the cursor that
-- public.blaze_sync_next handed out, the call also moves that cursor on.
-- Reads conductor.settings, public.customers, public.products, public.transactions; writes the
-- staging tables (consumed again), the tables the imports write, conductor.blaze_versions,
-- conductor.blaze_pending_transactions, conductor.blaze_sync_cursors.

create function public.blaze_sync_page(entity text, blaze_page jsonb, sync_cursor jsonb default null)
returns jsonb
volatile
security definer
set search_path = pg_catalog, pg_temp
set jit = off
language plpgsql
as $$
#variable_conflict use_column
declare
    v_entity text := blaze_sync_page.entity;
    v_page jsonb := blaze_sync_page.blaze_page;
    v_cursor jsonb := blaze_sync_page.sync_cursor;
    v_max_rows constant integer := 500;
    v_rows jsonb;
    v_count integer;
    v_shop text;
    v_shop_name text;
    v_tz text;
    v_grace interval;
    v_bad record;
    v_source text;
    v_result jsonb;
    v_stats record;
    v_held integer := 0;
    v_released integer := 0;
    v_open integer := 0;
    v_imports jsonb := '{}';
    v_advanced boolean := false;
begin
    if v_entity is null or v_entity not in ('members', 'products', 'transactions') then
        raise exception 'entity is not valid: % (members, products or transactions)',
            conductor.error_excerpt(v_entity)
            using errcode = '22023';
    end if;
    if v_page is null then
        raise exception 'blaze_page is required: the JSON body Blaze returned'
            using errcode = '22023';
    end if;
    v_rows := case
        when pg_catalog.jsonb_typeof(v_page) = 'array' then v_page
        when pg_catalog.jsonb_typeof(v_page) = 'object'
            then coalesce(v_page -> 'values', v_page -> 'searchResult', v_page -> 'results')
    end;
    if v_rows is null or pg_catalog.jsonb_typeof(v_rows) <> 'array' then
        raise exception 'blaze_page is not a Blaze page: expected an array of records or an object with '
            'values, searchResult or results, got %', conductor.error_excerpt(v_page::text)
            using errcode = '22023';
    end if;
    v_count := pg_catalog.jsonb_array_length(v_rows);
    if v_count > v_max_rows then
        raise exception 'blaze_page is too large: % records, at most % in one call', v_count, v_max_rows
            using errcode = '22023', hint = 'Blaze returns at most 100 rows per page (limit=100).';
    end if;
    select e.ordinality as n, pg_catalog.jsonb_typeof(e.value) as kind
    into v_bad
    from pg_catalog.jsonb_array_elements(v_rows) with ordinality as e
    where pg_catalog.jsonb_typeof(e.value) <> 'object'
    order by e.ordinality
    limit 1;
    if found then
        raise exception 'blaze_page is not a Blaze page: record % is a %, not an object', v_bad.n, v_bad.kind
            using errcode = '22023';
    end if;
    if v_cursor is not null and (
        pg_catalog.jsonb_typeof(v_cursor) <> 'object'
        or v_cursor ->> 'entity' is distinct from v_entity
        or v_cursor ->> 'window_start' is null or v_cursor ->> 'window_end' is null
        or coalesce(v_cursor ->> 'skip', '') !~ '^[0-9]{1,9}$'
    ) then
        raise exception 'sync_cursor is not valid: pass the sync_cursor blaze_sync_next returned for %, got %',
            v_entity, conductor.error_excerpt(v_cursor::text)
            using errcode = '22023';
    end if;

    v_shop := coalesce(conductor.setting('blaze_shop_id') #>> '{}', '');
    v_shop_name := nullif(btrim(coalesce(conductor.setting('blaze_shop_name') #>> '{}', '')), '');
    v_tz := conductor.store_time_zone();
    begin
        v_grace := pg_catalog.make_interval(hours => (conductor.setting('blaze_pending_grace_hours') #>> '{}')::integer);
    exception
        when data_exception then
            raise exception 'invalid setting: blaze_pending_grace_hours must be a whole number of hours, not %',
                conductor.setting('blaze_pending_grace_hours')::text
                using errcode = '22023';
    end;
    if v_count > 0 and btrim(v_shop) = '' then
        raise exception 'invalid setting: blaze_shop_id is empty; set it to the id of the Blaze shop to sync'
            using errcode = '22023';
    end if;
    select e.ordinality as n, e.value ->> 'shopId' as shop
    into v_bad
    from pg_catalog.jsonb_array_elements(v_rows) with ordinality as e
    where e.value ? 'shopId' and e.value -> 'shopId' <> 'null'::jsonb and e.value ->> 'shopId' is distinct from v_shop
    order by e.ordinality
    limit 1;
    if found then
        raise exception 'blaze_page is from another shop: record % has shopId %, this store syncs %',
            v_bad.n, conductor.error_excerpt(v_bad.shop), conductor.error_excerpt(v_shop)
            using errcode = '22023';
    end if;

    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor blaze sync'));
    v_source := format('blaze:%s:%s', v_entity, pg_catalog.txid_current());

    -- The page's records: one per id (the newest modified, then the last), older than the version
    -- already applied: stale.
    drop table if exists pg_temp.conductor_blaze_rows;
    create temporary table conductor_blaze_rows on commit drop as
    select
        e.ordinality as n,
        e.value as r,
        nullif(btrim(e.value ->> 'id'), '') as id,
        case
            when pg_catalog.jsonb_typeof(e.value -> 'modified') = 'number'
                and (e.value ->> 'modified')::numeric between 0 and 9e15
                then (e.value ->> 'modified')::numeric::bigint
        end as modified,
        'apply'::text as fate
    from pg_catalog.jsonb_array_elements(v_rows) with ordinality as e;
    update pg_temp.conductor_blaze_rows as b set fate = 'duplicate'
    where b.id is not null and exists (
        select from pg_temp.conductor_blaze_rows as o
        where o.id = b.id and (coalesce(o.modified, -1), o.n) > (coalesce(b.modified, -1), b.n)
    );
    update pg_temp.conductor_blaze_rows as b set fate = 'stale'
    from conductor.blaze_versions as v
    where b.fate = 'apply' and v.entity = v_entity and v.blaze_id = b.id and b.modified < v.modified;

    if v_entity = 'members' then
        insert into conductor.staging_customers (
            source, member_id, name, phone, email, loyalty_points, customer_type, member_group,
            marketing_source, street_address, city, state, zip_code, registered_on, time_zone
        )
        select
            v_source, b.id,
            nullif(btrim(concat_ws(' ', btrim(b.r ->> 'firstName'), btrim(b.r ->> 'lastName'))), ''),
            coalesce(b.r ->> 'primaryPhone', b.r ->> 'phoneNumber'),
            b.r ->> 'email',
            conductor.blaze_number_text(b.r -> 'loyaltyPoints'),
            b.r ->> 'consumerType',
            coalesce(b.r #>> '{memberGroup,name}', b.r ->> 'memberGroupName'),
            b.r ->> 'marketingSource',
            b.r #>> '{address,address}', b.r #>> '{address,city}', b.r #>> '{address,state}',
            b.r #>> '{address,zipCode}',
            conductor.blaze_local_date_text(coalesce(b.r -> 'startDate', b.r -> 'created'), v_tz),
            -- Blaze has no member time zone: a stored one (from a CSV export) is kept.
            cur.time_zone
        from pg_temp.conductor_blaze_rows as b
        left join public.customers as cur on cur.member_id = b.id
        where b.fate = 'apply'
        order by b.n;
    elsif v_entity = 'products' then
        insert into conductor.staging_products (
            source, product_id, sku, name, brand, category, strain, flower_type, vendor, thc_content,
            cbd_content, retail_price, is_active, cost, leafly_strain_type, leafly_description, leafly_rating,
            leafly_review_count, effects, helps_with, negatives, flavors, terpenes, parent_strains, lineage,
            image_url, leafly_url, leafly_data_updated
        )
        select
            v_source, b.id, b.r ->> 'sku', b.r ->> 'name',
            coalesce(b.r #>> '{brand,name}', b.r ->> 'brandName'),
            coalesce(b.r #>> '{category,name}', b.r ->> 'categoryName'),
            b.r ->> 'strain',
            b.r ->> 'flowerType',
            coalesce(b.r #>> '{vendor,name}', b.r ->> 'vendorName'),
            conductor.blaze_number_text(b.r -> 'thc'),
            conductor.blaze_number_text(b.r -> 'cbd'),
            conductor.blaze_number_text(b.r -> 'unitPrice'),
            case
                when b.r -> 'deleted' = 'true'::jsonb then 'false'
                else conductor.blaze_number_text(b.r -> 'active')
            end,
            -- What Blaze does not carry (cost, the Leafly fields) stays as stored: the import
            -- writes every column, so the stored values are staged again.
            cur.cost::text, cur.leafly_strain_type, cur.leafly_description, cur.leafly_rating::text,
            cur.leafly_review_count::text, pg_catalog.to_json(cur.effects)::text,
            pg_catalog.to_json(cur.helps_with)::text, pg_catalog.to_json(cur.negatives)::text,
            pg_catalog.to_json(cur.flavors)::text, pg_catalog.to_json(cur.terpenes)::text,
            pg_catalog.to_json(cur.parent_strains)::text, cur.lineage, cur.image_url, cur.leafly_url,
            pg_catalog.to_char(cur.leafly_data_updated at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00'
        from pg_temp.conductor_blaze_rows as b
        left join public.products as cur on cur.product_id = b.id
        where b.fate = 'apply'
        order by b.n;
    end if;
    v_imports := v_imports || pg_catalog.jsonb_build_object(
        'products', conductor.import_products(v_source), 'customers', conductor.import_customers(v_source)
    );

    -- Transactions: this page's and the ones held back, each with what it still waits for.
    drop table if exists pg_temp.conductor_blaze_tx;
    create temporary table conductor_blaze_tx on commit drop as
    select
        b.n, b.id, b.r as p, b.modified, true as from_page,
        coalesce(h.first_seen_at, pg_catalog.now()) as first_seen_at,
        null::text as missing, null::text as fate
    from pg_temp.conductor_blaze_rows as b
    left join conductor.blaze_pending_transactions as h on h.transaction_id = b.id
    where v_entity = 'transactions' and b.fate = 'apply'
    union all
    select
        null, h.transaction_id, h.payload, null, false, h.first_seen_at, null, null
    from conductor.blaze_pending_transactions as h
    where not exists (
        select from pg_temp.conductor_blaze_rows as b
        where v_entity = 'transactions' and b.id = h.transaction_id and b.fate <> 'stale'
    );
    -- Open carts (queued, on hold, in progress) are not sales yet: Blaze sends them again when
    -- they are completed or cancelled.
    update pg_temp.conductor_blaze_tx as t set fate = 'open'
    where
        coalesce(t.p -> 'deleted', 'false'::jsonb) <> 'true'::jsonb
        and lower(t.p ->> 'status') in ('queued', 'hold', 'inprogress', 'in_progress', 'open', 'pending');
    update pg_temp.conductor_blaze_tx as t
    set missing = nullif(concat_ws(', ',
        case
            when nullif(btrim(t.p ->> 'memberId'), '') is not null and not exists (
                select from public.customers as c where c.member_id = btrim(t.p ->> 'memberId')
            ) then 'member ' || btrim(t.p ->> 'memberId')
        end,
        (
            select string_agg(distinct 'product ' || btrim(i.value ->> 'productId'), ', ')
            from pg_catalog.jsonb_array_elements(
                case when pg_catalog.jsonb_typeof(t.p #> '{cart,items}') = 'array' then t.p #> '{cart,items}' else '[]' end
            ) as i
            where
                pg_catalog.jsonb_typeof(i.value) = 'object'
                and nullif(btrim(i.value ->> 'productId'), '') is not null
                and not exists (select from public.products as pr where pr.product_id = btrim(i.value ->> 'productId'))
        )
    ), '')
    where t.fate is null and t.id is not null;
    update pg_temp.conductor_blaze_tx as t
    set missing = concat_ws(', ', t.missing, 'sale ' || btrim(t.p ->> 'parentTransactionId'))
    where
        t.fate is null and t.id is not null
        and nullif(btrim(t.p ->> 'parentTransactionId'), '') is not null
        and not exists (select from public.transactions as o where o.transaction_id = btrim(t.p ->> 'parentTransactionId'))
        and not exists (
            select from pg_temp.conductor_blaze_tx as s
            where s.id = btrim(t.p ->> 'parentTransactionId') and s.fate is null
                and (s.missing is null or s.first_seen_at <= pg_catalog.now() - v_grace)
        );
    update pg_temp.conductor_blaze_tx as t
    set fate = case
        when t.missing is null or t.first_seen_at <= pg_catalog.now() - v_grace then 'apply' else 'hold'
    end
    where t.fate is null;

    insert into conductor.blaze_pending_transactions as h (transaction_id, payload, missing, first_seen_at)
    select t.id, t.p, t.missing, t.first_seen_at
    from pg_temp.conductor_blaze_tx as t
    where t.fate = 'hold'
    on conflict (transaction_id) do update set
        payload = excluded.payload, missing = excluded.missing, last_seen_at = pg_catalog.now();
    get diagnostics v_held = row_count;
    delete from conductor.blaze_pending_transactions as h
    using pg_temp.conductor_blaze_tx as t
    where h.transaction_id = t.id and t.fate in ('apply', 'open');
    get diagnostics v_released = row_count;
    select count(*) into v_open from pg_temp.conductor_blaze_tx as t where t.fate = 'open' and t.from_page;

    insert into conductor.staging_transactions (
        source, transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type,
        transaction_type, status, refunded_transaction_id, total_amount, total_tax, discounts,
        loyalty_points_earned, loyalty_points_spent
    )
    select
        v_source, t.id, t.p ->> 'memberId',
        conductor.blaze_time_text(coalesce(t.p -> 'processedTime', t.p -> 'completedTime', t.p -> 'created')),
        v_shop_name,
        coalesce(
            nullif(btrim(concat_ws(' ', btrim(t.p #>> '{seller,firstName}'), btrim(t.p #>> '{seller,lastName}'))), ''),
            t.p ->> 'sellerName'
        ),
        coalesce(t.p ->> 'terminalName', t.p ->> 'terminalId'),
        t.p #>> '{cart,paymentOption}',
        k.type_text,
        case
            when t.p -> 'deleted' = 'true'::jsonb then 'voided'
            when lower(t.p ->> 'status') in ('completed', 'refundwithinventory', 'refundwithoutinventory') then 'completed'
            when lower(t.p ->> 'status') in ('canceled', 'cancelled', 'void', 'voided') then 'voided'
            else t.p ->> 'status'
        end,
        t.p ->> 'parentTransactionId',
        conductor.blaze_signed_text(t.p #> '{cart,total}', k.refund),
        conductor.blaze_signed_text(coalesce(t.p #> '{cart,totalCalcTax}', t.p #> '{cart,tax}'), k.refund),
        conductor.blaze_signed_text(t.p #> '{cart,totalDiscount}', k.refund),
        conductor.blaze_number_text(t.p #> '{cart,pointsEarned}'),
        conductor.blaze_number_text(t.p #> '{cart,pointSpent}')
    from pg_temp.conductor_blaze_tx as t
    cross join lateral (
        select
            case
                when lower(t.p ->> 'transType') in ('sale', 'refund', 'return') then lower(t.p ->> 'transType')
                else t.p ->> 'transType'
            end as type_text,
            coalesce(lower(t.p ->> 'transType') in ('refund', 'return'), false) as refund
    ) as k
    where t.fate = 'apply'
    order by t.n nulls first, t.id;

    insert into conductor.staging_transaction_items (
        source, transaction_id, line_number, product_sku, product_name, quantity, unit_price, discount, total_price
    )
    select
        v_source, t.id, i.ordinality::text,
        case when pr.id is not null then pr.sku else nullif(btrim(i.value ->> 'productId'), '') end,
        case when pr.id is not null and pr.sku is null then pr.name end,
        conductor.blaze_number_text(i.value -> 'quantity'),
        conductor.blaze_number_text(i.value -> 'unitPrice'),
        conductor.blaze_number_text(i.value -> 'discount'),
        conductor.blaze_signed_text(i.value -> 'finalPrice', coalesce(lower(t.p ->> 'transType') in ('refund', 'return'), false))
    from pg_temp.conductor_blaze_tx as t
    cross join lateral pg_catalog.jsonb_array_elements(
        case when pg_catalog.jsonb_typeof(t.p #> '{cart,items}') = 'array' then t.p #> '{cart,items}' else '[]' end
    ) with ordinality as i
    left join public.products as pr on pr.product_id = btrim(i.value ->> 'productId')
    where t.fate = 'apply' and t.id is not null
    order by t.n nulls first, t.id, i.ordinality;

    v_imports := v_imports || pg_catalog.jsonb_build_object('transactions', conductor.import_transactions(v_source));
    -- An edited cart with fewer lines: the lines it no longer has go (the maintenance triggers
    -- on transaction_items recompute what derives from them).
    delete from public.transaction_items as ti
    using pg_temp.conductor_blaze_tx as t
    where
        t.fate = 'apply' and ti.transaction_id = t.id
        and ti.line_number > coalesce(
            case when pg_catalog.jsonb_typeof(t.p #> '{cart,items}') = 'array' then pg_catalog.jsonb_array_length(t.p #> '{cart,items}') end,
            0
        );
    v_imports := v_imports
        || pg_catalog.jsonb_build_object('transaction_items', conductor.import_transaction_items(v_source));

    insert into conductor.blaze_versions as v (entity, blaze_id, modified)
    select v_entity, b.id, b.modified
    from pg_temp.conductor_blaze_rows as b
    where b.fate = 'apply' and b.id is not null and b.modified is not null
    on conflict (entity, blaze_id) do update set modified = excluded.modified, applied_at = pg_catalog.now()
    where v.modified < excluded.modified;

    perform conductor.refresh_materialized_views();

    if v_cursor is not null then
        v_advanced := conductor.blaze_advance_cursor(v_entity, v_cursor, v_count);
    end if;

    select
        count(*) filter (where b.fate = 'apply') as applied,
        count(*) filter (where b.fate = 'stale') as stale,
        count(*) filter (where b.fate = 'duplicate') as duplicate
    into v_stats
    from pg_temp.conductor_blaze_rows as b;
    v_result := pg_catalog.jsonb_build_object(
        'entity', v_entity,
        'source', v_source,
        'records', v_count,
        'applied', v_stats.applied,
        'stale', v_stats.stale,
        'duplicate', v_stats.duplicate,
        'open', v_open,
        'held', v_held,
        'released', v_released,
        'waiting', (select count(*) from conductor.blaze_pending_transactions),
        'cursor_advanced', v_advanced,
        'caught_up', coalesce(
            (select c.caught_up from conductor.blaze_sync_cursors as c where c.entity = v_entity), false
        ),
        'imports', v_imports
    );
    drop table pg_temp.conductor_blaze_rows;
    drop table pg_temp.conductor_blaze_tx;
    return v_result;
end
$$;
comment on function public.blaze_sync_page(text, jsonb, jsonb) is
'Applies one page of the Blaze partner API (entity members, products or transactions; blaze_page as Blaze '
'returned it) through the import staging tables and import functions, in one transaction; moves the '
'sync cursor on when sync_cursor (from blaze_sync_next) is given. Returns counts as jsonb.';
