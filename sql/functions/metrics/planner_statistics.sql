-- Planner statistics for the bulk paths of the maintenance triggers. The refresh functions keep
-- one plan per session (plan_cache_mode = force_generic_plan), made from the tables' statistics
-- when first called. After a failed import and an ANALYZE (by hand or by autovacuum), a table's
-- statistics can say it holds no rows while its pages are there: the planner then expects a
-- row or two from it however many a retried import brings, and picks plans that read the
-- whole table once per customer (a quadratic load, minutes at seed scale, hours beyond). A bulk
-- statement therefore first checks what the planner would expect of the tables it is about to
-- read, and analyzes those it would underestimate, inside the statement's own transaction
-- (ANALYZE sees the rows written by it); the new statistics invalidate the cached plans.
-- Reads: pg_class, the table's size. Writes: the table's statistics (ANALYZE).

-- Analyzes p_table when the planner, from its statistics and its current size, would expect
-- fewer than half of p_rows rows (a lower bound of what the caller knows it holds). Returns
-- whether it did. A table never analyzed, or without pages when it was, is estimated from its
-- current size and the width of its rows, which is never that wrong: it is left alone.
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
    if v_estimate is null or v_estimate >= p_rows / 2.0 then
        return false;
    end if;
    execute format('analyze %s', p_table);
    return true;
end
$$;
comment on function conductor.analyze_if_underestimated(regclass, bigint) is
'Analyzes p_table when its statistics would make the planner expect fewer than half of p_rows rows '
'(stale statistics of a table emptied, or left with only dead rows, and loaded again). Returns whether it did.';
