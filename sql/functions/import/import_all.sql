-- conductor.import_all(source): every staged entity of one source, in dependency order
-- (products, customers, staff, transactions, line items), in the caller's transaction, then the
-- materialized views (win-back queue, activity timeline) so they hold the new data at once.
-- Reads and deletes conductor.staging_*; writes through the per-entity import functions.

create function conductor.import_all(p_source text)
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_result jsonb;
begin
    perform conductor.require_import_source(p_source);
    -- One statement per entity, in this order: each import checks its references against what
    -- the previous ones stored.
    v_result := pg_catalog.jsonb_build_object('source', p_source);
    v_result := v_result || pg_catalog.jsonb_build_object('products', conductor.import_products(p_source));
    v_result := v_result || pg_catalog.jsonb_build_object('customers', conductor.import_customers(p_source));
    v_result := v_result || pg_catalog.jsonb_build_object('staff', conductor.import_staff(p_source));
    v_result := v_result
        || pg_catalog.jsonb_build_object('transactions', conductor.import_transactions(p_source));
    v_result := v_result
        || pg_catalog.jsonb_build_object('transaction_items', conductor.import_transaction_items(p_source));
    perform conductor.refresh_materialized_views();
    return v_result;
end
$$;
comment on function conductor.import_all(text) is
'Imports every staged entity of one source in dependency order (products, customers, staff, '
'transactions, transaction_items), then refreshes the win-back queue and the activity timeline; returns '
'{source, <entity>: counts, ...} as jsonb.';
