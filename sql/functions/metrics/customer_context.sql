-- Keeps conductor.customer_context (sql/tables/customer_context.sql): the writes that can change
-- a customer's context raise its version (invalidate), and a builder computes the values of every
-- customer whose row is not current (refresh), run each minute by pg_cron
-- (sql/cron/refresh_customer_context.sql). Between the two, public.customer_sms_context computes
-- the values live, so no reader ever sees a stale one.
-- Reads: customers, public.customer_sms_context (its live columns). Writes: conductor.customer_context.

-- Called by the maintenance triggers in the database transaction that changes the customers'
-- transactions, lines or derived rows, after their public.customers rows (customers first, then
-- context, on every path). Rows are locked in member_id order, as the builder locks them, so the
-- two never deadlock. A row this transaction already made stale is not written again
-- (a POS sale's lines follow its transaction in the same database transaction).
create function conductor.invalidate_customer_context(p_member_ids text[])
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- one small statement per sale: plans kept across calls, never re-planned per value
set plan_cache_mode = force_generic_plan
language plpgsql
as $$
declare
    v_row record;
begin
    -- plpgsql rather than SQL: its plans are kept (a sale calls this twice).
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return;
    end if;
    if cardinality(p_member_ids) = 1 then
        -- A POS sale: one customer, whose row exists; two key lookups at most.
        select
            x.xmin = pg_catalog.pg_current_xact_id()::xid and x.built_version <> x.version as done
        into v_row
        from conductor.customer_context as x
        where x.customer_id = p_member_ids[1];
        if found then
            if not v_row.done then
                update conductor.customer_context as x
                set version = x.version + 1
                where x.customer_id = p_member_ids[1];
            end if;
            return;
        end if;
    end if;
    insert into conductor.customer_context as x (customer_id)
    select distinct m.member_id
    from unnest(p_member_ids) as m (member_id)
    -- an id a rename just moved away (the cascade's old rows) has no customer left to mark
    where exists (select from public.customers as c where c.member_id = m.member_id)
    order by m.member_id
    on conflict (customer_id) do update
        set version = x.version + 1
        where not (x.xmin = pg_catalog.pg_current_xact_id()::xid and x.built_version <> x.version);
end
$$;
comment on function conductor.invalidate_customer_context(text[]) is
'Marks these customers'' conductor.customer_context rows stale (raises version; creates the row if missing) '
'so readers compute their context live until the builder catches up.';

-- Every customer's row, for repairs and catalogue edits that can touch anyone.
create function conductor.invalidate_all_customer_context()
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language sql
as $$
    update conductor.customer_context as x
    set version = x.version + 1
    where x.built_version = x.version;
$$;
comment on function conductor.invalidate_all_customer_context() is
'Marks every current conductor.customer_context row stale (readers compute live until rebuilt).';

-- The builder. Values come from public.customer_sms_context, which computes them live for exactly
-- these rows (they are not current), in the statement's snapshot; the version written beside them
-- is the one read in that snapshot. A sale committed meanwhile has raised the row's version past
-- it, so the row stays stale and the next run builds it again.
create function conductor.refresh_customer_context(p_limit integer default null)
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
    if p_limit is not null and p_limit < 1 then
        raise exception 'p_limit must be a positive number of customers or null (all), not %', p_limit
            using errcode = '22023';
    end if;
    if not pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_customer_context')) then
        return 0;
    end if;
    with stale as (
        select
            c.member_id,
            coalesce(x.version, 0) as version
        from public.customers as c
        left join conductor.customer_context as x on c.member_id = x.customer_id
        where x.customer_id is null or x.built_version <> x.version
        order by c.member_id
        limit p_limit
    )

    insert into conductor.customer_context as x (
        customer_id, version, built_version, built_at, favorite_products, recent_purchases, favorite_category,
        preferred_location, preferred_budtender, last_purchase_at
    )
    select
        s.member_id,
        s.version,
        s.version,
        now(),
        v.favorite_products,
        v.recent_purchases,
        v.favorite_category,
        v.preferred_location,
        v.preferred_budtender,
        v.last_purchase_at
    from stale as s
    inner join public.customer_sms_context as v on s.member_id = v.member_id
    order by s.member_id
    on conflict (customer_id) do update
    set
        built_version = excluded.built_version,
        built_at = excluded.built_at,
        favorite_products = excluded.favorite_products,
        recent_purchases = excluded.recent_purchases,
        favorite_category = excluded.favorite_category,
        preferred_location = excluded.preferred_location,
        preferred_budtender = excluded.preferred_budtender,
        last_purchase_at = excluded.last_purchase_at;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function conductor.refresh_customer_context(integer) is
'pg_cron job conductor_refresh_customer_context: computes conductor.customer_context for customers whose '
'row is stale or missing, at most p_limit of them (null: all), in member_id order. Returns rows written '
'(0 at once while another run holds its advisory lock).';
