-- Planner statistics for the bulk paths of the maintenance triggers and for rebuild_all. The
-- refresh functions keep one plan per session (plan_cache_mode = force_generic_plan), made from
-- the tables' statistics when first called. After a failed import and an ANALYZE (by hand or by
-- autovacuum), a table's statistics can say it holds no rows while its pages are there: the
-- planner then expects a row or two from it however many a retried import brings, and picks
-- plans that read the whole table once per customer (a quadratic load: 27 s instead of 0.5 s for
-- the visit patterns at seed scale, growing with the square of the volume). A bulk
-- statement therefore first checks what the planner would expect of the tables it is about to
-- read, and analyzes those it would underestimate, inside the statement's own transaction
-- (ANALYZE sees the rows written by it); the new statistics invalidate the cached plans. The
-- derived tables the recomputations compare with can fall into the same state (rows deleted by
-- hand, an ANALYZE, then a rebuild that writes them again).
-- Reads: pg_class, the tables' sizes, up to a thousand rows of each derived table. Writes: the
-- tables' statistics (ANALYZE).

-- Analyzes p_table when the planner, from its statistics and its current size, would expect
-- fewer than half of p_rows rows (a lower bound of what the caller knows it holds), or when one
-- of its partial indexes is recorded empty but has grown since. Returns whether it did. A table
-- never analyzed, or without pages when it was, is estimated from its current size and the
-- width of its rows, which is never that wrong. A partial index is estimated from its own
-- statistics: one created on an empty table (every fresh install) counts as empty until the
-- table is first vacuumed or analyzed, however many rows it has taken since.
create function conductor.analyze_if_underestimated(p_table regclass, p_rows bigint)
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_estimate double precision;
begin
    select
        case
            when c.reltuples >= 0 and c.relpages > 0
                then c.reltuples / c.relpages
                * (pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::integer)
        end
    into v_estimate
    from pg_catalog.pg_class as c
    where c.oid = p_table;
    if
        (v_estimate is null or v_estimate >= p_rows / 2.0)
        and not exists (
            select
            from pg_catalog.pg_index as i
            inner join pg_catalog.pg_class as c on i.indexrelid = c.oid
            where
                i.indrelid = p_table
                and i.indpred is not null
                and c.reltuples = 0
                and pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::integer > c.relpages
        )
    then
        return false;
    end if;
    execute format('analyze %s', p_table);
    return true;
end
$$;
comment on function conductor.analyze_if_underestimated(regclass, bigint) is
'Analyzes p_table when its statistics would make the planner expect fewer than half of p_rows rows '
'(stale statistics of a table emptied, or left with only dead rows, and loaded again), or when a partial '
'index of it is recorded empty but has grown. Returns whether it did.';

-- Every table the recomputations of customers, visit patterns and product affinity read, checked
-- against what the caller knows they hold at least (p_customers, p_transactions, p_lines; 0 when
-- it knows nothing) and, for the derived tables, against up to a thousand rows read from them.
create function conductor.analyze_underestimated_tables(p_customers bigint, p_transactions bigint, p_lines bigint)
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.analyze_if_underestimated('public.customers', p_customers);
    perform conductor.analyze_if_underestimated('public.transactions', p_transactions);
    perform conductor.analyze_if_underestimated('public.transaction_items', p_lines);
    perform conductor.analyze_if_underestimated(
        'public.customer_visit_patterns',
        (select count(*) from (select from public.customer_visit_patterns limit 1000) as p)
    );
    perform conductor.analyze_if_underestimated(
        'conductor.customer_product_affinity_rows',
        (select count(*) from (select from conductor.customer_product_affinity_rows limit 1000) as a)
    );
end
$$;
comment on function conductor.analyze_underestimated_tables(bigint, bigint, bigint) is
'Analyzes, among customers, transactions, transaction_items and the derived visit patterns and product '
'affinity, each table whose statistics would make the planner expect fewer than half the rows it is '
'known to hold (the given lower bounds; up to a thousand rows read for the derived tables).';
