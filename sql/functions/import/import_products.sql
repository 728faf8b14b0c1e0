-- conductor.import_products(source): staged products -> public.products, upserted by
-- product_id in one statement. Rejected: a row without product_id or name, an earlier row of a
-- product_id that appears again later in the batch, and a row whose sku another product already
-- has (in the catalogue, or in a later row of the batch). A bad number, flag, list or time is
-- left out and recorded; the product is still imported (a new product gets the field empty or
-- at its default, an existing one keeps its stored value). A leafly_data_updated outside
-- 2000-01-01 to 24 hours ahead (the products_leafly_data_updated_plausible bounds) is a bad time.
-- Reads and deletes conductor.staging_products; writes public.products,
-- conductor.import_batches, conductor.data_issues.

-- JIT is off: compiling this statement costs more than it saves.
create function conductor.import_products(p_source text)
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
set datestyle = 'ISO, MDY'
set timezone = 'UTC'
set jit = off
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    v_true constant text[] := array['true', 't', 'yes', 'y', '1', 'active'];
    v_false constant text[] := array['false', 'f', 'no', 'n', '0', 'inactive'];
    v_batch bigint;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    perform pg_catalog.set_config('TimeZone', conductor.store_time_zone(), true);
    if not exists (select from conductor.staging_products as s where s.source = p_source) then
        return conductor.import_batch_result('products', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('products', p_source)
    returning id into v_batch;
    -- Fresh statistics for the rows just staged, so the statement below is planned for its size.
    analyze conductor.staging_products;

    with consumed as (
        delete from conductor.staging_products as s
        where s.source = p_source
        returning s.*
    ),

    cleaned as (
        select
            c.row_number,
            nullif(btrim(c.product_id), '') as product_id,
            nullif(btrim(c.sku), '') as sku,
            nullif(btrim(c.name), '') as name,
            nullif(btrim(c.brand), '') as brand,
            nullif(btrim(c.category), '') as category,
            nullif(btrim(c.strain), '') as strain,
            nullif(btrim(c.flower_type), '') as flower_type,
            nullif(btrim(c.vendor), '') as vendor,
            nullif(btrim(c.thc_content), '') as thc_content,
            nullif(btrim(c.cbd_content), '') as cbd_content,
            nullif(btrim(c.retail_price), '') as retail_price,
            nullif(btrim(c.cost), '') as cost,
            lower(nullif(btrim(c.is_active), '')) as is_active,
            nullif(btrim(c.leafly_strain_type), '') as leafly_strain_type,
            nullif(btrim(c.leafly_description), '') as leafly_description,
            nullif(btrim(c.leafly_rating), '') as leafly_rating,
            nullif(btrim(c.leafly_review_count), '') as leafly_review_count,
            nullif(btrim(c.effects), '') as effects,
            nullif(btrim(c.helps_with), '') as helps_with,
            nullif(btrim(c.negatives), '') as negatives,
            nullif(btrim(c.flavors), '') as flavors,
            nullif(btrim(c.terpenes), '') as terpenes,
            nullif(btrim(c.parent_strains), '') as parent_strains,
            nullif(btrim(c.lineage), '') as lineage,
            nullif(btrim(c.image_url), '') as image_url,
            nullif(btrim(c.leafly_url), '') as leafly_url,
            nullif(btrim(c.leafly_data_updated), '') as leafly_data_updated
        from consumed as c
    ),

    parsed as materialized (
        select
            c.*,
            case
                when c.thc_content ~ v_number
                    then pg_catalog.replace(c.thc_content, ',', '')::numeric
            end as thc_value,
            case
                when c.cbd_content ~ v_number
                    then pg_catalog.replace(c.cbd_content, ',', '')::numeric
            end as cbd_value,
            case
                when c.retail_price ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(c.retail_price, ',', ''), '$', '')::numeric
            end as retail_price_value,
            case
                when c.cost ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(c.cost, ',', ''), '$', '')::numeric
            end as cost_value,
            case when c.is_active = any(v_true) then true when c.is_active = any(v_false) then false end
                as is_active_value,
            case when c.leafly_rating ~ v_number then c.leafly_rating::numeric end as rating_value,
            case
                when c.leafly_review_count ~ v_number
                    then pg_catalog.replace(c.leafly_review_count, ',', '')::numeric
            end as review_count_value,
            conductor.parse_text_list(c.effects) as effects_value,
            conductor.parse_text_list(c.helps_with) as helps_with_value,
            conductor.parse_text_list(c.negatives) as negatives_value,
            conductor.parse_text_list(c.flavors) as flavors_value,
            conductor.parse_text_list(c.terpenes) as terpenes_value,
            conductor.parse_text_list(c.parent_strains) as parent_strains_value,
            conductor.parse_timestamptz(c.leafly_data_updated) as leafly_data_updated_value
        from cleaned as c
    ),

    keyed as (
        select
            p.*,
            case
                when p.product_id is null then 'missing_product_id'
                when p.name is null then 'missing_name'
            end as invalid
        from parsed as p
    ),

    ranked as (
        select
            k.*,
            max(k.row_number) filter (where k.invalid is null) over (partition by k.product_id) as last_row
        from keyed as k
    ),

    sku_holders as (
        select
            r.*,
            max(r.row_number) filter (where r.invalid is null and r.row_number = r.last_row)
                over (partition by r.sku) as sku_last_row
        from ranked as r
    ),

    checked as (
        select
            h.*,
            case
                when h.invalid is not null then h.invalid
                when h.row_number < h.last_row then 'duplicate'
                when h.sku is not null and h.row_number < h.sku_last_row then 'sku_in_batch'
                when e.product_id is not null then 'sku_taken'
            end as rejection,
            e.product_id as sku_owner,
            h.thc_content is not null and (h.thc_value is null or h.thc_value < 0 or h.thc_value >= 1e5)
                as thc_bad,
            h.cbd_content is not null and (h.cbd_value is null or h.cbd_value < 0 or h.cbd_value >= 1e5)
                as cbd_bad,
            h.retail_price is not null and (
                h.retail_price_value is null or h.retail_price_value < 0 or h.retail_price_value >= 1e10
            ) as retail_price_bad,
            h.cost is not null and (h.cost_value is null or h.cost_value < 0 or h.cost_value >= 1e10)
                as cost_bad,
            h.is_active is not null and h.is_active_value is null as is_active_bad,
            h.leafly_rating is not null and (h.rating_value is null or h.rating_value not between 0 and 5)
                as rating_bad,
            h.leafly_review_count is not null and (
                h.review_count_value is null or h.review_count_value < 0
                or h.review_count_value <> pg_catalog.trunc(h.review_count_value)
                or h.review_count_value >= 2e9
            ) as review_count_bad,
            h.effects is not null and h.effects_value is null as effects_bad,
            h.helps_with is not null and h.helps_with_value is null as helps_with_bad,
            h.negatives is not null and h.negatives_value is null as negatives_bad,
            h.flavors is not null and h.flavors_value is null as flavors_bad,
            h.terpenes is not null and h.terpenes_value is null as terpenes_bad,
            h.parent_strains is not null and h.parent_strains_value is null as parent_strains_bad,
            case
                when h.leafly_data_updated is null then null
                when h.leafly_data_updated_value is null then 'leafly_data_updated is not a timestamp'
                when h.leafly_data_updated_value < '2000-01-01 00:00:00+00'::timestamptz
                    then 'leafly_data_updated is before 2000-01-01'
                when h.leafly_data_updated_value > pg_catalog.now() + interval '24 hours'
                    then 'leafly_data_updated is in the future'
            end as leafly_data_updated_problem
        from sku_holders as h
        left join public.products as e on e.sku = h.sku and e.product_id <> h.product_id
    ),

    final as (
        select
            k.product_id,
            k.sku,
            k.name,
            k.brand,
            k.category,
            k.strain,
            k.flower_type,
            k.vendor,
            case when k.thc_bad then e.thc_content else pg_catalog.round(k.thc_value, 3) end as thc_content,
            case when k.cbd_bad then e.cbd_content else pg_catalog.round(k.cbd_value, 3) end as cbd_content,
            case
                when k.retail_price_bad then e.retail_price else pg_catalog.round(k.retail_price_value, 2)
            end as retail_price,
            case when k.cost_bad then e.cost else pg_catalog.round(k.cost_value, 2) end as cost,
            case
                when k.is_active_bad or k.is_active is null then coalesce(e.is_active, true)
                else k.is_active_value
            end as is_active,
            k.leafly_strain_type,
            k.leafly_description,
            case when k.rating_bad then e.leafly_rating else pg_catalog.round(k.rating_value, 2) end
                as leafly_rating,
            case when k.review_count_bad then e.leafly_review_count else k.review_count_value::integer end
                as leafly_review_count,
            case when k.effects_bad then e.effects else k.effects_value end as effects,
            case when k.helps_with_bad then e.helps_with else k.helps_with_value end as helps_with,
            case when k.negatives_bad then e.negatives else k.negatives_value end as negatives,
            case when k.flavors_bad then e.flavors else k.flavors_value end as flavors,
            case when k.terpenes_bad then e.terpenes else k.terpenes_value end as terpenes,
            case when k.parent_strains_bad then e.parent_strains else k.parent_strains_value end
                as parent_strains,
            k.lineage,
            k.image_url,
            k.leafly_url,
            case
                when k.leafly_data_updated_problem is not null then e.leafly_data_updated
                else k.leafly_data_updated_value
            end
                as leafly_data_updated
        from checked as k
        left join public.products as e on e.product_id = k.product_id
        where k.rejection is null
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select 'products', k.product_id, i.field, i.bad_value, i.problem, i.action, v_batch, k.row_number
        from checked as k
        cross join lateral (
            values
            (
                k.rejection = 'missing_product_id', 'product_id', null::text,
                'product_id is missing (it is the business key)', 'rejected'
            ),
            (k.rejection = 'missing_name', 'name', null::text, 'name is missing', 'rejected'),
            (
                k.rejection = 'duplicate', 'product_id', k.product_id,
                format(
                    'product_id is given again in the batch: row %s of the source was imported instead', k.last_row
                ),
                'rejected'
            ),
            (
                k.rejection = 'sku_in_batch', 'sku', k.sku,
                format('sku is also given to the product in row %s of the source', k.sku_last_row),
                'rejected'
            ),
            (
                k.rejection = 'sku_taken', 'sku', k.sku,
                format('sku already belongs to product %s', k.sku_owner), 'rejected'
            ),
            (
                k.rejection is null and k.thc_bad, 'thc_content', k.thc_content,
                'thc_content is not a number >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.cbd_bad, 'cbd_content', k.cbd_content,
                'cbd_content is not a number >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.retail_price_bad, 'retail_price', k.retail_price,
                'retail_price is not an amount >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.cost_bad, 'cost', k.cost,
                'cost is not an amount >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.is_active_bad, 'is_active', k.is_active,
                'is_active is not true or false', 'field_cleared'
            ),
            (
                k.rejection is null and k.rating_bad, 'leafly_rating', k.leafly_rating,
                'leafly_rating is not a number from 0 to 5', 'field_cleared'
            ),
            (
                k.rejection is null and k.review_count_bad, 'leafly_review_count', k.leafly_review_count,
                'leafly_review_count is not a whole number >= 0', 'field_cleared'
            ),
            (k.rejection is null and k.effects_bad, 'effects', k.effects, 'effects is not a list', 'field_cleared'),
            (
                k.rejection is null and k.helps_with_bad, 'helps_with', k.helps_with,
                'helps_with is not a list', 'field_cleared'
            ),
            (
                k.rejection is null and k.negatives_bad, 'negatives', k.negatives,
                'negatives is not a list', 'field_cleared'
            ),
            (k.rejection is null and k.flavors_bad, 'flavors', k.flavors, 'flavors is not a list', 'field_cleared'),
            (
                k.rejection is null and k.terpenes_bad, 'terpenes', k.terpenes,
                'terpenes is not a list', 'field_cleared'
            ),
            (
                k.rejection is null and k.parent_strains_bad, 'parent_strains', k.parent_strains,
                'parent_strains is not a list', 'field_cleared'
            ),
            (
                k.rejection is null and k.leafly_data_updated_problem is not null, 'leafly_data_updated',
                k.leafly_data_updated, k.leafly_data_updated_problem, 'field_cleared'
            )
        ) as i (hit, field, bad_value, problem, action)
        where i.hit
        returning action
    ),

    upserted as (
        insert into public.products as p (
            product_id, sku, name, brand, category, strain, flower_type, vendor, thc_content, cbd_content,
            retail_price, cost, is_active, leafly_strain_type, leafly_description, leafly_rating,
            leafly_review_count, effects, helps_with, negatives, flavors, terpenes, parent_strains, lineage,
            image_url, leafly_url, leafly_data_updated
        )
        select
            f.product_id, f.sku, f.name, f.brand, f.category, f.strain, f.flower_type, f.vendor, f.thc_content,
            f.cbd_content, f.retail_price, f.cost, f.is_active, f.leafly_strain_type, f.leafly_description,
            f.leafly_rating, f.leafly_review_count, f.effects, f.helps_with, f.negatives, f.flavors, f.terpenes,
            f.parent_strains, f.lineage, f.image_url, f.leafly_url, f.leafly_data_updated
        from final as f
        on conflict (product_id) do update set
            sku = excluded.sku,
            name = excluded.name,
            brand = excluded.brand,
            category = excluded.category,
            strain = excluded.strain,
            flower_type = excluded.flower_type,
            vendor = excluded.vendor,
            thc_content = excluded.thc_content,
            cbd_content = excluded.cbd_content,
            retail_price = excluded.retail_price,
            cost = excluded.cost,
            is_active = excluded.is_active,
            leafly_strain_type = excluded.leafly_strain_type,
            leafly_description = excluded.leafly_description,
            leafly_rating = excluded.leafly_rating,
            leafly_review_count = excluded.leafly_review_count,
            effects = excluded.effects,
            helps_with = excluded.helps_with,
            negatives = excluded.negatives,
            flavors = excluded.flavors,
            terpenes = excluded.terpenes,
            parent_strains = excluded.parent_strains,
            lineage = excluded.lineage,
            image_url = excluded.image_url,
            leafly_url = excluded.leafly_url,
            leafly_data_updated = excluded.leafly_data_updated
        where (
            p.sku, p.name, p.brand, p.category, p.strain, p.flower_type, p.vendor, p.thc_content, p.cbd_content,
            p.retail_price, p.cost, p.is_active, p.leafly_strain_type, p.leafly_description, p.leafly_rating,
            p.leafly_review_count, p.effects, p.helps_with, p.negatives, p.flavors, p.terpenes, p.parent_strains,
            p.lineage, p.image_url, p.leafly_url, p.leafly_data_updated
        ) is distinct from (
            excluded.sku, excluded.name, excluded.brand, excluded.category, excluded.strain, excluded.flower_type,
            excluded.vendor, excluded.thc_content, excluded.cbd_content, excluded.retail_price, excluded.cost,
            excluded.is_active, excluded.leafly_strain_type, excluded.leafly_description, excluded.leafly_rating,
            excluded.leafly_review_count, excluded.effects, excluded.helps_with, excluded.negatives,
            excluded.flavors, excluded.terpenes, excluded.parent_strains, excluded.lineage, excluded.image_url,
            excluded.leafly_url, excluded.leafly_data_updated
        )
        returning p.xmax = 0 as inserted
    )

    select
        (select count(*) from checked) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from checked where rejection is not null) as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared
    into v_counts;

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
    return conductor.import_batch_result('products', p_source, v_batch);
end
$$;
comment on function conductor.import_products(text) is
'Imports the staged products of one source (conductor.staging_products) into public.products, '
'upserting by product_id (sku kept unique); returns the batch counts as jsonb. Re-importing the same '
'rows changes nothing.';
