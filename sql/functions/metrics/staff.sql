-- Staff performance on public.staff. Its figures are sums and counts over the staff member's
-- completed transactions, so a change is applied as a delta (a POS sale adds one sale to one row
-- instead of re-reading thousands); a (staff_name, shop_location) pair without a row gets one.
-- conductor.refresh_staff recomputes everything from scratch (repair).
-- Reads: transactions. Writes: staff.
-- The refresh functions run with plan_cache_mode = force_generic_plan: their statements are
-- planned once per session instead of on every POS sale, and their plan shapes (index lookups
-- per customer, hashed or merged diffs) stay linear from one customer to a full rebuild; JIT is
-- off (a compile would cost more than a sale's work).

-- p_deltas: a jsonb array of {staff_name, shop_location, sales, refunds, gross_sales,
-- gross_refunds}, the change in each pair's completed sales and refunds caused by one statement.
create function conductor.apply_staff_deltas(p_deltas jsonb)
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- one small statement per sale: plans kept across calls, never re-planned per value
set plan_cache_mode = force_generic_plan
set jit = off
language plpgsql
as $$
declare
    v_rows integer;
    v_delta record;
    v_missing jsonb := '[]';
    v_updated integer := 0;
begin
    if p_deltas is null or jsonb_array_length(p_deltas) = 0 then
        return 0;
    end if;

    -- A POS sale's one or few pairs: each row updated by key; only pairs without a row go on.
    if jsonb_array_length(p_deltas) <= 20 then
        for v_delta in
            select d.*
            from jsonb_to_recordset(p_deltas) as d (
                staff_name text, shop_location text, sales integer, refunds integer,
                gross_sales numeric, gross_refunds numeric
            )
        loop
            update public.staff as s
            set
                total_transactions = s.total_transactions + v_delta.sales,
                total_refunds = s.total_refunds + v_delta.refunds,
                gross_sales = s.gross_sales + v_delta.gross_sales,
                gross_refunds = s.gross_refunds + v_delta.gross_refunds,
                total_sales = (s.gross_sales + v_delta.gross_sales) - (s.gross_refunds + v_delta.gross_refunds),
                avg_transaction_value = round(
                    (s.gross_sales + v_delta.gross_sales) / nullif(s.total_transactions + v_delta.sales, 0), 2
                ),
                updated_at = now()
            where s.staff_name = v_delta.staff_name and s.shop_location is not distinct from v_delta.shop_location;
            if found then
                v_updated := v_updated + 1;
            else
                v_missing := v_missing || jsonb_build_array(to_jsonb(v_delta));
            end if;
        end loop;
        if jsonb_array_length(v_missing) = 0 then
            return v_updated;
        end if;
        p_deltas := v_missing;
    end if;

    -- A pair without a row starts from what it had before this statement (its totals now, minus
    -- the delta); the update below then adds the delta. If a concurrent sale creates the same row
    -- first, the insert does nothing and the delta is still added exactly once.
    with deltas as (
        select d.*
        from jsonb_to_recordset(p_deltas) as d (
            staff_name text, shop_location text, sales integer, refunds integer,
            gross_sales numeric, gross_refunds numeric
        )
    ),

    -- Materialized, so the totals below are read only for pairs that have no row yet.
    missing as materialized (
        select d.*
        from deltas as d
        where not exists (
            select from public.staff as s
            where s.staff_name = d.staff_name and s.shop_location is not distinct from d.shop_location
        )
    )

    insert into public.staff (
        staff_name, shop_location, total_transactions, total_refunds, gross_sales, gross_refunds,
        total_sales, avg_transaction_value
    )
    select
        d.staff_name,
        d.shop_location,
        f.sales - d.sales,
        f.refunds - d.refunds,
        f.gross_sales - d.gross_sales,
        f.gross_refunds - d.gross_refunds,
        (f.gross_sales - d.gross_sales) - (f.gross_refunds - d.gross_refunds),
        round((f.gross_sales - d.gross_sales) / nullif(f.sales - d.sales, 0), 2)
    from missing as d
    cross join lateral (
        select
            count(*) filter (where t.transaction_type = 'sale')::integer as sales,
            count(*) filter (where t.transaction_type = 'refund')::integer as refunds,
            coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
            coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as gross_refunds
        from public.transactions as t
        where
            t.staff_name = d.staff_name
            and t.shop_location is not distinct from d.shop_location
            and t.status = 'completed'
    ) as f
    on conflict (staff_name, shop_location) do nothing;

    with deltas as (
        select d.*
        from jsonb_to_recordset(p_deltas) as d (
            staff_name text, shop_location text, sales integer, refunds integer,
            gross_sales numeric, gross_refunds numeric
        )
    )

    update public.staff as s
    set
        total_transactions = s.total_transactions + d.sales,
        total_refunds = s.total_refunds + d.refunds,
        gross_sales = s.gross_sales + d.gross_sales,
        gross_refunds = s.gross_refunds + d.gross_refunds,
        total_sales = (s.gross_sales + d.gross_sales) - (s.gross_refunds + d.gross_refunds),
        avg_transaction_value = round((s.gross_sales + d.gross_sales) / nullif(s.total_transactions + d.sales, 0), 2),
        updated_at = now()
    from deltas as d
    where s.staff_name = d.staff_name and s.shop_location is not distinct from d.shop_location;
    get diagnostics v_rows = row_count;
    return v_updated + v_rows;
end
$$;
comment on function conductor.apply_staff_deltas(jsonb) is
'Adds per-(staff_name, shop_location) changes in completed sales and refunds to public.staff, creating '
'the rows of unknown pairs. p_deltas: [{staff_name, shop_location, sales, refunds, gross_sales, gross_refunds}].';

create function conductor.refresh_staff()
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
language plpgsql
as $$
declare
    v_rows integer;
begin
    with totals as (
        select
            t.staff_name,
            t.shop_location,
            count(*) filter (where t.transaction_type = 'sale')::integer as total_transactions,
            count(*) filter (where t.transaction_type = 'refund')::integer as total_refunds,
            coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
            coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as gross_refunds
        from public.transactions as t
        where t.status = 'completed' and btrim(t.staff_name) <> ''
        group by t.staff_name, t.shop_location
    ),

    -- Explicit update / insert (rows that exist are skipped through the unique key): rows whose
    -- values stay put are neither written nor locked.
    updated as (
        update public.staff as s
        set
            total_transactions = t.total_transactions,
            total_refunds = t.total_refunds,
            gross_sales = t.gross_sales,
            gross_refunds = t.gross_refunds,
            total_sales = t.gross_sales - t.gross_refunds,
            avg_transaction_value = round(t.gross_sales / nullif(t.total_transactions, 0), 2),
            updated_at = now()
        from totals as t
        where
            s.staff_name = t.staff_name
            and s.shop_location is not distinct from t.shop_location
            and (
                s.total_transactions, s.total_refunds, s.gross_sales, s.gross_refunds, s.total_sales,
                s.avg_transaction_value
            ) is distinct from (
                t.total_transactions, t.total_refunds, t.gross_sales, t.gross_refunds, t.gross_sales - t.gross_refunds,
                round(t.gross_sales / nullif(t.total_transactions, 0), 2)
            )
        returning 1
    ),

    inserted as (
        insert into public.staff (
            staff_name, shop_location, total_transactions, total_refunds, gross_sales, gross_refunds,
            total_sales, avg_transaction_value
        )
        select
            t.staff_name,
            t.shop_location,
            t.total_transactions,
            t.total_refunds,
            t.gross_sales,
            t.gross_refunds,
            t.gross_sales - t.gross_refunds,
            round(t.gross_sales / nullif(t.total_transactions, 0), 2)
        from totals as t
        on conflict (staff_name, shop_location) do nothing
        returning 1
    ),

    emptied as (
        update public.staff as s
        set
            total_transactions = 0,
            total_refunds = 0,
            gross_sales = 0,
            gross_refunds = 0,
            total_sales = 0,
            avg_transaction_value = null
        where
            not exists (
                select from totals as t
                where t.staff_name = s.staff_name and t.shop_location is not distinct from s.shop_location
            )
            and (
                s.total_transactions, s.total_refunds, s.gross_sales, s.gross_refunds, s.total_sales,
                s.avg_transaction_value
            ) is distinct from (0, 0, 0::numeric, 0::numeric, 0::numeric, null::numeric)
        returning 1
    )

    select (select count(*) from emptied) + (select count(*) from updated) + (select count(*) from inserted)
    into v_rows;
    return v_rows;
end
$$;
comment on function conductor.refresh_staff() is
'Recomputes the performance of every staff row from all completed transactions (rows without any get '
'zeros; rows are never deleted) and creates rows for unknown pairs. Returns rows changed.';
