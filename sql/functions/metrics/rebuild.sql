-- conductor.rebuild_all(): repair. Recomputes every derived value (customer metrics, visit
-- patterns, product affinity, staff performance, the win-back queue) from the raw transactions
-- and line items. The maintenance triggers keep the same values live, so on a healthy database
-- it changes nothing and reports zeros. Writes transactions and items wait while it runs.
-- Reads: transactions, transaction_items, customers. Writes: the derived tables.
create function conductor.rebuild_all()
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
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
    v_member_ids := array(select c.member_id from public.customers as c order by c.member_id);
    select r.changed_rows into v_customers from conductor.refresh_customers(v_member_ids) as r;
    v_patterns := conductor.refresh_visit_patterns(v_member_ids);
    -- Rows of member ids no customer has any more cannot exist (foreign keys), so every row is in scope.
    v_affinity := conductor.refresh_product_affinity(v_member_ids);
    v_staff := conductor.refresh_staff();
    refresh materialized view concurrently public.win_back_priority_queue;

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
'win-back queue from the raw tables. Returns the rows it had to change per table (all zero when the '
'maintained values were right).';
