-- The result every import function returns: one batch of conductor.import_batches as jsonb.
-- Reads conductor.import_batches.

create function conductor.import_batch_result(p_entity text, p_source text, p_batch_id bigint)
returns jsonb
stable
security invoker
set search_path = pg_catalog, pg_temp
language sql
as $$
    select pg_catalog.jsonb_build_object(
        'entity', p_entity,
        'source', p_source,
        'batch_id', b.id,
        'read', coalesce(b.rows_read, 0),
        'inserted', coalesce(b.rows_inserted, 0),
        'updated', coalesce(b.rows_updated, 0),
        'unchanged', coalesce(b.rows_unchanged, 0),
        'rejected', coalesce(b.rows_rejected, 0),
        'fields_cleared', coalesce(b.fields_cleared, 0)
    )
    from (select) as nothing
    left join conductor.import_batches as b on b.id = p_batch_id
$$;
comment on function conductor.import_batch_result(text, text, bigint) is
'Counts of one import batch as jsonb {entity, source, batch_id, read, inserted, updated, unchanged, '
'rejected, fields_cleared}; all zero with a null batch_id when nothing was staged.';

create function conductor.require_import_source(p_source text)
returns void
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_source is null or btrim(p_source) = '' then
        raise exception 'p_source: the label of the staged rows to import is required'
            using errcode = '22023',
                  hint = 'Rows copied into conductor.staging_* without a source have the label csv.';
    end if;
end
$$;
comment on function conductor.require_import_source(text) is
'Raises 22023 naming p_source when an import is called without a source label.';
