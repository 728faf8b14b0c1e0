-- Trigger functions that keep the derived customer data live as data arrives (the triggers are
-- in sql/triggers/maintenance.sql). All are statement-level over transition tables: a statement
-- of any size becomes one set of touched customers and one set of staff deltas, handled by a few
-- set-based statements (a 200k-row COPY costs the same handful as a single POS sale).
-- Reads: the transition tables, transactions. Writes (through conductor.refresh_* and
-- apply_staff_deltas): customers, customer_visit_patterns, customer_product_affinity, staff;
-- conductor.customer_context (versions raised for the customers whose AI context changes);
-- conductor.pending_affinity_refresh (affinity a new transaction defers to its lines or the commit).
-- Security definer: they fire for service_role's writes through the API too, and reach conductor.

-- transactions: INSERT, UPDATE and DELETE (transition tables new_rows / old_rows).
create function conductor.tg_transactions__maintain()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
set jit = off
-- a bulk load's groups and hashes over the transition table stay in memory
set work_mem = '64MB'
language plpgsql
as $$
declare
    v_time_zone text := conductor.store_time_zone();  -- once, not per row of a bulk load
    v_customers text[];
    v_staff jsonb;
    v_deltas jsonb;
    v_fallback text[];
    v_refreshed record;
begin
    -- An insert reads its new rows; an update or a delete lists the row versions the statement
    -- removed (sign -1) and added (sign +1). Both derive the touched customers and the staff
    -- deltas from them.
    if tg_op = 'INSERT' then
        -- The customers with a completed transaction in the statement (member_id order) and the
        -- staff deltas, read straight from the new rows.
        select
            array(
                select c.customer_id
                from (
                    select distinct n.customer_id from new_rows as n
                    where n.customer_id is not null and n.status = 'completed'
                ) as c
                order by c.customer_id
            ),
            (
                -- A handful of staff groups: the status test sits in the aggregates' filters, so the
                -- planner counts every row of the statement (a bulk load's hundreds of thousands)
                -- and hashes them into the groups instead of sorting them.
                select jsonb_agg(d) from (
                    select
                        n.staff_name,
                        n.shop_location,
                        count(*) filter (where n.status = 'completed' and n.transaction_type = 'sale') as sales,
                        count(*) filter (where n.status = 'completed' and n.transaction_type = 'refund') as refunds,
                        coalesce(
                            sum(n.total_amount) filter (where n.status = 'completed' and n.transaction_type = 'sale'), 0
                        ) as gross_sales,
                        coalesce(
                            -sum(n.total_amount) filter (where n.status = 'completed' and n.transaction_type = 'refund'),
                            0
                        ) as gross_refunds
                    from new_rows as n
                    where btrim(n.staff_name) <> ''
                    group by n.staff_name, n.shop_location
                    having bool_or(n.status = 'completed')
                ) as d
            )
        into v_customers, v_staff;

        if cardinality(v_customers) > 0 then
            -- A few customers (a POS sale): sales dated on or after the customer's last visit are
            -- applied as deltas, and a new visit day at the end changes no affinity row until the
            -- lines come. Past 50 customers (a bulk load) walking them costs more than the
            -- set-based recompute, which then takes them all without computing deltas first.
            v_fallback := v_customers;
            if cardinality(v_customers) > 50 then
                -- The recompute's plans are made from these tables' statistics: never from ones
                -- that expect them nearly empty (sql/functions/metrics/planner_statistics.sql).
                perform conductor.analyze_underestimated_tables(
                    cardinality(v_customers), (select count(*) from new_rows), 0
                );
            else
                select
                    jsonb_agg(d)
                into v_deltas
                from (
                    select
                        n.customer_id,
                        count(*) filter (where n.transaction_type = 'sale') as sales,
                        count(*) filter (where n.transaction_type = 'refund') as refunds,
                        coalesce(sum(n.total_amount) filter (where n.transaction_type = 'sale'), 0) as gross_sales,
                        coalesce(-sum(n.total_amount) filter (where n.transaction_type = 'refund'), 0)
                            as gross_refunds,
                        coalesce(
                            array_agg(distinct (n.date at time zone v_time_zone)::date)
                                filter (where n.transaction_type = 'sale'),
                            '{}'
                        ) as days
                    from new_rows as n
                    where n.customer_id is not null and n.status = 'completed'
                    group by n.customer_id
                ) as d;
                select a.fallback into v_fallback from conductor.apply_appended_sales(v_deltas) as a;
            end if;
            -- Sales dated before the last visit, or a bulk load: an insert only adds visit days,
            -- so patterns and affinity change only where they grew. New transactions have no
            -- lines yet, so their affinity waits for the lines' statement (a POS sale's next
            -- one), or for the commit if none come: recomputed once, not twice.
            if cardinality(v_fallback) > 0 then
                select * into v_refreshed from conductor.refresh_customers(v_fallback);
                perform conductor.refresh_visit_patterns(v_refreshed.visits_changed);
                perform conductor.defer_affinity_refresh(v_refreshed.visits_changed);
            end if;
            -- After the customers' rows, as on every other path: locks are taken customers first,
            -- then their context, so two writers never wait on each other in opposite orders.
            perform conductor.invalidate_customer_context(v_customers);
        end if;
        if v_staff is not null then
            perform conductor.apply_staff_deltas(v_staff);
        end if;
        return null;
    end if;

    if tg_op = 'UPDATE' then
        with changed as (
            select
                o.id as old_id,
                n.id as new_id
            from old_rows as o
            full join new_rows as n on n.id = o.id
            where
                (o.transaction_id, o.customer_id, o.date, o.transaction_type, o.status, o.total_amount,
                    o.staff_name, o.shop_location)
                is distinct from
                (n.transaction_id, n.customer_id, n.date, n.transaction_type, n.status, n.total_amount,
                    n.staff_name, n.shop_location)
        ),

        versions as (
            select -1 as sign, o.customer_id, o.status, o.transaction_type, o.total_amount, o.staff_name, o.shop_location
            from old_rows as o
            where o.id in (select c.old_id from changed as c)
            union all
            select 1 as sign, n.customer_id, n.status, n.transaction_type, n.total_amount, n.staff_name, n.shop_location
            from new_rows as n
            where n.id in (select c.new_id from changed as c)
        )

        select
            (
                select array_agg(distinct v.customer_id order by v.customer_id) from versions as v
                where v.customer_id is not null and v.status = 'completed'
            ),
            (
                select jsonb_agg(d) from (
                    select
                        v.staff_name,
                        v.shop_location,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'sale'), 0) as sales,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'refund'), 0) as refunds,
                        coalesce(sum(v.sign * v.total_amount) filter (where v.transaction_type = 'sale'), 0)
                            as gross_sales,
                        coalesce(-sum(v.sign * v.total_amount) filter (where v.transaction_type = 'refund'), 0)
                            as gross_refunds
                    from versions as v
                    where v.status = 'completed' and btrim(v.staff_name) <> ''
                    group by v.staff_name, v.shop_location
                    having
                        sum(v.sign) filter (where v.transaction_type = 'sale') <> 0
                        or sum(v.sign) filter (where v.transaction_type = 'refund') <> 0
                        or sum(v.sign * v.total_amount) <> 0
                ) as d
            )
        into v_customers, v_staff;
    else
        with versions as (
            select -1 as sign, o.customer_id, o.status, o.transaction_type, o.total_amount, o.staff_name, o.shop_location
            from old_rows as o
        )

        select
            (
                select array_agg(distinct v.customer_id order by v.customer_id) from versions as v
                where v.customer_id is not null and v.status = 'completed'
            ),
            (
                select jsonb_agg(d) from (
                    select
                        v.staff_name,
                        v.shop_location,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'sale'), 0) as sales,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'refund'), 0) as refunds,
                        coalesce(sum(v.sign * v.total_amount) filter (where v.transaction_type = 'sale'), 0)
                            as gross_sales,
                        coalesce(-sum(v.sign * v.total_amount) filter (where v.transaction_type = 'refund'), 0)
                            as gross_refunds
                    from versions as v
                    where v.status = 'completed' and btrim(v.staff_name) <> ''
                    group by v.staff_name, v.shop_location
                ) as d
            )
        into v_customers, v_staff;
    end if;

    if tg_op = 'UPDATE' and cardinality(v_customers) > 50 then
        perform conductor.analyze_underestimated_tables(cardinality(v_customers), (select count(*) from new_rows), 0);
    end if;
    -- Updates and deletes can move or remove visit days anywhere in a customer's history.
    perform conductor.refresh_customers(v_customers);
    perform conductor.refresh_visit_patterns(v_customers);
    perform conductor.refresh_product_affinity(v_customers);
    perform conductor.apply_staff_deltas(v_staff);
    perform conductor.invalidate_customer_context(v_customers);
    return null;
end
$$;
comment on function conductor.tg_transactions__maintain() is
'Trigger (after insert, update, delete on public.transactions, per statement): recomputes the metrics, '
'visit patterns and product affinity of exactly the customers the statement touched and applies its '
'staff deltas.';

-- transaction_items: INSERT, UPDATE and DELETE. Lines change product affinity only.
create function conductor.tg_transaction_items__maintain()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
set jit = off
-- a bulk load's join and groups over the transition table stay in memory
set work_mem = '64MB'
language plpgsql
as $$
declare
    v_customers text[];
    v_context_customers text[];
    v_lines jsonb;
    v_rows bigint;
begin
    if tg_op = 'INSERT' then
        -- The statement's lines per transaction and product; the first lines of a customer's
        -- latest sale are added to the running totals, any other customer is recomputed. A bulk
        -- load (more than 1,000 lines) is recomputed set-based below, not walked line by line.
        select
            s.line_count,
            (
                select jsonb_agg(g)
                from (
                    select
                        n.transaction_id,
                        n.product_sku,
                        count(*) as lines,
                        coalesce(sum(n.quantity), 0) as units,
                        sum(n.unit_price) as unit_price_sum,
                        sum(n.total_price) as spent,
                        (array_agg(n.product_name order by n.line_number desc))[1] as product_name,
                        (array_agg(n.brand order by n.line_number desc))[1] as brand,
                        (array_agg(n.category order by n.line_number desc))[1] as category,
                        max(n.transaction_lines) as transaction_lines
                    from (
                        select
                            r.*,
                            count(*) over (partition by r.transaction_id) as transaction_lines
                        from new_rows as r
                    ) as n
                    where n.product_sku is not null
                    group by n.transaction_id, n.product_sku
                ) as g
                where s.line_count <= 1000
            )
        into v_rows, v_lines
        from (select count(*) as line_count from new_rows) as s;
        if v_lines is not null then
            v_customers := conductor.apply_appended_sale_lines(v_lines);
        else
            if v_rows > 1000 then
                -- The plans below and the recompute's are made from these tables' statistics:
                -- never from ones that expect them nearly empty. Every line has its transaction,
                -- and a sale has far fewer than a hundred lines.
                perform conductor.analyze_underestimated_tables(0, v_rows / 100 + 1, v_rows);
            end if;
            -- One pass over the statement's lines gives both sets: customers whose affinity is
            -- recomputed (lines with a sku) and those whose AI context changes (any line). The
            -- lines are joined as they are (hashing the transactions) and grouped once, by customer.
            select
                coalesce(array_agg(x.customer_id order by x.customer_id) filter (where x.with_sku), '{}'),
                coalesce(array_agg(x.customer_id order by x.customer_id), '{}')
            into v_customers, v_context_customers
            from (
                select
                    t.customer_id,
                    bool_or(r.product_sku is not null) as with_sku
                from new_rows as r
                inner join public.transactions as t on r.transaction_id = t.transaction_id
                where t.customer_id is not null and t.status = 'completed'
                group by t.customer_id
            ) as x;
        end if;
    elsif tg_op = 'UPDATE' then
        with changed as (
            select
                o.transaction_id as old_transaction_id,
                o.product_sku as old_product_sku,
                n.transaction_id as new_transaction_id,
                n.product_sku as new_product_sku
            from old_rows as o
            full join new_rows as n on n.id = o.id
            where
                (o.transaction_id, o.line_number, o.product_sku, o.quantity, o.total_price, o.product_name,
                    o.brand, o.category)
                is distinct from
                (n.transaction_id, n.line_number, n.product_sku, n.quantity, n.total_price, n.product_name,
                    n.brand, n.category)
        )

        select array_agg(distinct t.customer_id order by t.customer_id) into v_customers
        from public.transactions as t
        where
            t.transaction_id in (
                select c.old_transaction_id from changed as c where c.old_product_sku is not null
                union
                select c.new_transaction_id from changed as c where c.new_product_sku is not null
            )
            and t.customer_id is not null
            and t.status = 'completed';
    else
        -- Lines deleted with their transaction find no transaction here; the transaction's own
        -- trigger refreshes that customer.
        select array_agg(distinct t.customer_id order by t.customer_id) into v_customers
        from public.transactions as t
        where
            t.transaction_id in (select o.transaction_id from old_rows as o where o.product_sku is not null)
            and t.customer_id is not null
            and t.status = 'completed';
    end if;

    if cardinality(v_customers) > 0 then
        perform conductor.refresh_product_affinity(v_customers);  -- also takes them off the queue
    end if;
    -- The AI context shows every line of the last sales, with or without a sku.
    if v_context_customers is not null then
        perform conductor.invalidate_customer_context(v_context_customers);
    elsif tg_op <> 'DELETE' then
        perform conductor.invalidate_customer_context(array(
            select distinct t.customer_id from public.transactions as t
            where
                t.transaction_id in (select n.transaction_id from new_rows as n)
                and t.customer_id is not null
                and t.status = 'completed'
        ));
    end if;
    if tg_op <> 'INSERT' then
        perform conductor.invalidate_customer_context(array(
            select distinct t.customer_id from public.transactions as t
            where
                t.transaction_id in (select o.transaction_id from old_rows as o)
                and t.customer_id is not null
                and t.status = 'completed'
        ));
    end if;
    return null;
end
$$;
comment on function conductor.tg_transaction_items__maintain() is
'Trigger (after insert, update, delete on public.transaction_items, per statement): recomputes the '
'product affinity of the customers whose completed transactions gained, changed or lost lines.';

-- Queues customers for conductor.tg_pending_affinity_refresh__apply, which runs when the
-- database transaction commits (a deferred constraint trigger, one event per statement).
create function conductor.defer_affinity_refresh(p_member_ids text[])
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return;
    end if;
    -- When the waking row is already queued, so was an event by that earlier statement of
    -- this transaction (rows never outlive it), and that event applies the whole queue.
    insert into conductor.pending_affinity_refresh (customer_id, wakes_at_commit)
    select m.member_id, m.n = 1 from unnest(p_member_ids) with ordinality as m (member_id, n)
    on conflict (customer_id) do nothing;
end
$$;
comment on function conductor.defer_affinity_refresh(text[]) is
'Queues these customers'' product affinity to be recomputed before the transaction commits '
'(sooner, if lines of theirs are written first).';

create function conductor.tg_pending_affinity_refresh__apply()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    -- The first event of a commit recomputes (and so dequeues) every queued customer; any
    -- others find the queue empty.
    perform conductor.refresh_product_affinity(
        array(select p.customer_id from conductor.pending_affinity_refresh as p order by p.customer_id)
    );
    return null;
end
$$;
comment on function conductor.tg_pending_affinity_refresh__apply() is
'Trigger (deferred to commit, per waking row inserted into conductor.pending_affinity_refresh): recomputes the '
'product affinity of every customer still queued there and empties the queue.';

-- customers: a new customer gets its zero-state metrics and scores (a new member has no
-- transactions yet: they reference it); a changed registration date moves date_joined.
create function conductor.tg_customers__init_metrics()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.refresh_customers(array(select n.member_id from new_rows as n));
    return null;
end
$$;
comment on function conductor.tg_customers__init_metrics() is
'Trigger (after insert on public.customers, per statement): computes the metric columns of the new '
'customers (whatever the insert wrote there).';

create function conductor.tg_customers__registered_on()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.refresh_customers(array[new.member_id]);
    return null;
end
$$;
comment on function conductor.tg_customers__registered_on() is
'Trigger (after update of registered_on on public.customers, per changed row): recomputes date_joined.';

-- Threshold tables: an edited tier, level, score bound or segment applies to everyone at once.
create function conductor.tg_thresholds__rescore()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    refresh materialized view conductor.score_bands;
    analyze conductor.score_bands;
    refresh materialized view conductor.score_band_steps;
    analyze conductor.score_band_steps;
    perform conductor.refresh_scores();
    -- the ready AI context carries tier, churn, RFM and segment
    perform conductor.invalidate_all_customer_context();
    return null;
end
$$;
comment on function conductor.tg_thresholds__rescore() is
'Trigger (after any change to conductor.vip_tiers, churn_levels, rfm_scores, lead_segments, per '
'statement): recomputes every customer''s tier, churn and RFM values and marks every ready AI context stale.';

-- settings: visit days are local days of the store_time_zone setting, so changing it moves them.
create function conductor.tg_settings__store_time_zone()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if exists (
        select from new_rows as n
        inner join old_rows as o on o.key = n.key
        where n.key = 'store_time_zone' and n.value is distinct from o.value
    ) then
        perform conductor.rebuild_all();
    end if;
    return null;
end
$$;
comment on function conductor.tg_settings__store_time_zone() is
'Trigger (after update on conductor.settings, per statement): a changed store_time_zone rebuilds every '
'derived value, since visit days are calendar days in that zone.';

-- products: the AI context falls back to the catalogue's name, brand and category for lines that
-- carry none, so a product added, removed or renamed makes its buyers' context stale.
create function conductor.tg_products__invalidate_context()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_skus text[];
begin
    if tg_op = 'INSERT' then
        v_skus := array(select n.sku from new_rows as n where n.sku is not null);
    elsif tg_op = 'DELETE' then
        v_skus := array(select o.sku from old_rows as o where o.sku is not null);
    else
        v_skus := array(
            select x.sku
            from old_rows as o
            inner join new_rows as n on o.id = n.id
            cross join lateral (values (o.sku), (n.sku)) as x (sku)
            where
                (o.sku, o.name, o.brand, o.category) is distinct from (n.sku, n.name, n.brand, n.category)
                and x.sku is not null
        );
    end if;
    if cardinality(v_skus) > 0 then
        perform conductor.invalidate_customer_context(array(
            select distinct a.customer_id from public.customer_product_affinity as a
            where a.product_sku = any(v_skus)
        ));
    end if;
    return null;
end
$$;
comment on function conductor.tg_products__invalidate_context() is
'Trigger (after insert, update, delete on public.products, per statement): marks stale the AI context of '
'every customer who bought a product added, removed or renamed (name, brand or category).';

-- TRUNCATE fires no row or transition-table triggers: rebuild from what is left.
create function conductor.tg_transactions__truncate()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.rebuild_all();
    return null;
end
$$;
comment on function conductor.tg_transactions__truncate() is
'Trigger (after truncate on public.transactions or public.transaction_items): rebuilds every derived value.';
