-- conductor.rebuild_all(): repair. Recomputes every derived value (customer metrics, visit
-- patterns, product affinity, staff performance, the win-back queue) from the raw transactions
-- and line items. The maintenance triggers keep the same values live, so on a healthy database it
-- changes nothing and reports zeros. Writes of transactions and items wait while it runs; readers
-- of the win-back queue wait only for its last step (a plain refresh, then the commit). Into an
-- empty product affinity table (a rebuild from raw rows) the rows go through fresh storage
-- (conductor.swap_in_product_affinity): readers of affinity wait from its swap to the commit,
-- writers of customers from its foreign-key check to the commit.
-- The two read caches are not rebuilt here but marked: every customer's ready AI context
-- (readers compute it live until the per-minute builder has gone round) and the activity
-- timeline (get_customer_timeline reads the base tables until the per-minute job
-- conductor_refresh_stale_activity_timeline has refreshed it, concurrently).
-- Reads: transactions, transaction_items, customers. Writes: the derived tables,
-- conductor.customer_context (versions), conductor.stale_materialized_views, and the raw tables'
-- statistics when they would mislead the planner (conductor.analyze_underestimated_tables).
create function conductor.rebuild_all()
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- the recomputations' hashes and sorts over every customer's history stay in memory
set work_mem = '64MB'
language plpgsql
as $$
declare
    v_member_ids text[];
    v_customers integer;
    v_patterns integer;
    v_affinity integer;
    v_staff integer;
begin
    perform pg_advisory_xact_lock(pg_catalog.hashtext('conductor rebuild_all'));
    -- Writers wait (readers do not) so the rebuild sees one consistent state of the raw tables.
    lock table public.transactions, public.transaction_items in share mode;

    refresh materialized view conductor.score_bands;
    analyze conductor.score_bands;
    refresh materialized view conductor.score_band_steps;
    analyze conductor.score_band_steps;
    v_member_ids := array(select c.member_id from public.customers as c order by c.member_id);
    -- Raw rows restored or loaded with the triggers off can come with the statistics of emptier
    -- tables; the recomputations below are planned from them (a thousand rows read tell).
    perform conductor.analyze_underestimated_tables(
        cardinality(v_member_ids),
        (select count(*) from (select from public.transactions limit 1000) as t),
        (select count(*) from (select from public.transaction_items limit 1000) as i)
    );
    select r.changed_rows into v_customers from conductor.refresh_customers(v_member_ids) as r;
    v_patterns := conductor.refresh_visit_patterns(v_member_ids);
    v_staff := conductor.refresh_staff();
    -- Rows of member ids no customer has any more cannot exist (foreign keys), so every row is in
    -- scope. From raw rows (an empty table) they go into fresh storage; late, because its swap
    -- makes readers of affinity wait until the commit.
    v_affinity := coalesce(
        conductor.swap_in_product_affinity(v_member_ids),
        conductor.refresh_product_affinity(v_member_ids)
    );
    -- A repair may follow writes made with the triggers off: no customer's ready AI context is
    -- trusted; readers compute it live until the builder has gone round again. The same holds
    -- for the stored timeline rows, which the per-minute job refreshes outside this transaction.
    perform conductor.invalidate_all_customer_context();
    insert into conductor.stale_materialized_views as s (view_name)
    values ('public.customer_activity_timeline')
    on conflict (view_name) do update set marked_at = excluded.marked_at;
    -- Last, so readers of the queue wait only for this refresh and the commit: every row may
    -- have changed, where a plain refresh costs a fraction of the concurrent diff.
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_win_back'));
    perform conductor.refresh_win_back_queue(p_concurrently => false);

    return jsonb_build_object(
        'customers', v_customers,
        'customer_visit_patterns', v_patterns,
        'customer_product_affinity', v_affinity,
        'staff', v_staff
    );
end
$$;
comment on function conductor.rebuild_all() is
'Repair: recomputes customer metrics, visit patterns, product affinity, staff performance and the '
'win-back queue from the raw tables, and marks the ready AI contexts and the activity timeline for their '
'per-minute jobs (their readers compute live meanwhile). Returns the rows it had to change per table (all '
'zero when the maintained values were right).';

-- conductor.converge_derived_formulas(): run by every install (sql/lib/converge_derived.sql).
-- The revisions below are bumped whenever a derived table's formulas change; a table stored at
-- another revision (or none: an install before this record existed) is recomputed for every
-- customer. Revision 2: seed 000's exact formulas in the seed's columns (avg_days_between_visits,
-- visit_consistency_score, predicted_next_visit, last_visit_deviation_days; avg_price_paid,
-- repurchase_rate) and the package's own measures in new columns. Revision 3: the maintenance
-- state columns (gap_square_sum; purchase_days, first_visit_number, sale_lines,
-- sale_unit_price_sum, sale_spent) that let an appended sale be applied as deltas.
-- conductor.customer_context is bumped whenever public.customer_sms_context's live columns change
-- their formulas or the ready answer gains a column (revision 2: get_customer_insights' whole answer):
-- every stored row is then marked stale (rebuilt by its pg_cron job), as after any recomputation.
-- Reads: conductor.derived_revisions, customers. Writes: the recomputed tables, derived_revisions.
create function conductor.converge_derived_formulas()
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_revisions constant jsonb := '{"customer_visit_patterns": 3, "customer_product_affinity": 3, "customer_context": 2}';
    v_stale text[];
    v_member_ids text[];
    v_result jsonb := '{}';
begin
    v_stale := array(
        select r.key
        from pg_catalog.jsonb_each_text(v_revisions) as r (key, value)
        where not exists (
            select from conductor.derived_revisions as d
            where d.derived_table = r.key and d.revision = r.value::integer
        )
        order by r.key
    );
    if cardinality(v_stale) = 0 then
        return v_result;
    end if;
    v_member_ids := array(select c.member_id from public.customers as c order by c.member_id);
    if 'customer_visit_patterns' = any(v_stale) then
        v_result := v_result || pg_catalog.jsonb_build_object(
            'customer_visit_patterns', conductor.refresh_visit_patterns(v_member_ids)
        );
    end if;
    if 'customer_product_affinity' = any(v_stale) then
        v_result := v_result || pg_catalog.jsonb_build_object(
            'customer_product_affinity', conductor.refresh_product_affinity(v_member_ids)
        );
    end if;
    -- The ready AI context shows what was recomputed.
    perform conductor.invalidate_all_customer_context();
    v_result := v_result || pg_catalog.jsonb_build_object('customer_context', 'stale');
    insert into conductor.derived_revisions as d (derived_table, revision)
    select
        r.key,
        r.value::integer
    from pg_catalog.jsonb_each_text(v_revisions) as r (key, value)
    where r.key = any(v_stale)
    on conflict (derived_table) do update
        set revision = excluded.revision, recomputed_at = now();
    return v_result;
end
$$;
comment on function conductor.converge_derived_formulas() is
'Run by every install: recomputes, for every customer, each derived table whose stored formula revision '
'(conductor.derived_revisions) differs from this install''s, then records the new revision. Returns the '
'rows changed per recomputed table ({} when every table was current).';
