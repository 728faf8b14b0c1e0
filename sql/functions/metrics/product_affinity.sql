-- Purchase history per customer and product (public.customer_product_affinity), recomputed for
-- whole customers: a visit day inserted before others renumbers the visits every product's
-- first_visit_number counts in, so it can change every row of that customer (rows whose values
-- stay put are not written). A visit day appended after the last one changes no stored row.
-- Reads: conductor.product_affinity_from_sales (the formulas: seed 000's populate query in
-- avg_price_paid and repurchase_rate, docs/seed-fidelity.md), transactions, transaction_items.
-- Writes: customer_product_affinity (into an empty table, for a first load or a rebuild from raw
-- rows, a new storage partition swapped in), and takes the customers off
-- conductor.pending_affinity_refresh (they are current now).
-- The refresh functions run with plan_cache_mode = force_generic_plan: their statements are
-- planned once per session instead of on every POS sale, and their plan shapes (index lookups
-- per customer, hashed or merged diffs) stay linear from one customer to a full rebuild; JIT is
-- off (a compile would cost more than a sale's work). Only the first rows of many customers (a
-- first load, a rebuild from raw rows) are planned for their size each time.

-- Every row of these customers, computed from their sales, inserted into p_table (the public
-- table, in key order; or the new partition conductor.swap_in_product_affinity builds, in the
-- order computed) by one statement planned for its real size (hashed passes over the tables
-- instead of index lookups per customer). Nothing is compared: the caller knows none of these
-- customers has a row there.
-- Reads: conductor.product_affinity_from_sales. Writes: p_table, takes the customers off
-- conductor.pending_affinity_refresh.
create function conductor.insert_product_affinity(p_table regclass, p_member_ids text[])
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- the one sort over every line of these customers stays in memory or spills little
set work_mem = '64MB'
-- Many customers' history is joined by hashing: statistics taken while the tables were empty (a
-- first import retried after a failed one) promise one row, and a nested loop would then compare
-- every line with every transaction.
set enable_nestloop = off
-- That setting prices the plan past every JIT threshold. JIT compiles expressions and tuple
-- deforming, but an optimized and inlined compile costs about 0.4 s, more than it saves on the
-- demo data's 200,000 rows (and under 5% of the statement at ten times that).
set jit_optimize_above_cost = -1
set jit_inline_above_cost = -1
language plpgsql
as $$
declare
    v_rows integer;
begin
    execute format(
        $insert$
            insert into %s (
                customer_id, product_sku, product_name, category, brand, purchase_count, units_purchased,
                total_spent, first_purchased, last_purchased, avg_price_paid, avg_unit_price_weighted,
                repurchase_rate, purchase_days, first_visit_number, sale_lines, sale_unit_price_sum, sale_spent
            )
            select
                c.customer_id, c.product_sku, c.product_name, c.category, c.brand, c.purchase_count,
                c.units_purchased, c.total_spent, c.first_purchased, c.last_purchased, c.avg_price_paid,
                c.avg_unit_price_weighted, c.repurchase_rate, c.purchase_days, c.first_visit_number,
                c.sale_lines, c.sale_unit_price_sum, c.sale_spent
            from conductor.product_affinity_from_sales as c
            where c.customer_id = any($1)
            %s
        $insert$,
        p_table,
        -- Into the public table, whose indexes take each row, in key order. The new partition
        -- of a swap builds its indexes afterwards, so its rows go in as computed (each
        -- customer's together) without one more sort.
        case when p_table = 'public.customer_product_affinity'::regclass then 'order by c.customer_id, c.product_sku' end
    )
    using p_member_ids;
    get diagnostics v_rows = row_count;
    -- They are current now. Planned with the array's values (a hashed lookup per queued
    -- customer), whatever plan cache mode the caller runs with.
    execute 'delete from conductor.pending_affinity_refresh as p where p.customer_id = any($1)'
    using p_member_ids;
    return v_rows;
end
$$;
comment on function conductor.insert_product_affinity(regclass, text[]) is
'Inserts every customer_product_affinity row of these customers, computed from their sales, into p_table '
'(the public table, in key order, or the new partition of a swap), without comparing, and takes them off '
'conductor.pending_affinity_refresh. Returns the rows inserted.';

-- Fresh storage for an empty customer_product_affinity (a first load, a rebuild from raw rows):
-- every customer's rows go into a new table without indexes, triggers or a foreign-key probe per
-- row, which then replaces the empty partition. Attaching it builds each index with one sort,
-- checks the foreign key to customers with one query and gives it the public table's triggers;
-- it keeps the old partition's owner, privileges, options, row level security and comment.
-- Locks: writers of the table wait from the start (SHARE); readers go on while the rows are
-- computed. The swap then holds ACCESS EXCLUSIVE on the table until the caller commits, so its
-- readers wait from the swap to the commit. The old partition is dropped without detaching it
-- (a detached partition's foreign key would put triggers on customers, and dropping those needs
-- ACCESS EXCLUSIVE there); attaching the new one checks the foreign key under SHARE ROW
-- EXCLUSIVE on customers, which makes writers of customers wait to the commit, never readers.
-- Each lock is waited for at most twice deadlock_timeout (at least a second), and a deadlock
-- through the wait ends the wait: when readers hold the table longer, or wait on the caller, the
-- computed rows are inserted in place instead (index entries and foreign-key checks per row).
-- Returns the rows written, or null (nothing done) when the table has rows or writers hold it.
-- Reads: conductor.product_affinity_from_sales, the partition's catalog entries. Writes:
-- customer_product_affinity (a new conductor.customer_product_affinity_rows), takes the customers
-- off conductor.pending_affinity_refresh.
create function conductor.swap_in_product_affinity(p_member_ids text[])
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_lock_timeout constant text := current_setting('lock_timeout');
    -- Past one deadlock check: a cycle through this wait aborts the wait (caught below), and an
    -- autovacuum in the way is cancelled.
    v_lock_wait constant text := greatest(
        2 * extract(epoch from current_setting('deadlock_timeout')::interval) * 1000, 1000
    )::integer || 'ms';
    v_old record;
    v_privilege record;
    v_rows integer;
begin
    begin
        perform set_config('lock_timeout', v_lock_wait, true);
        lock table public.customer_product_affinity in share mode;
        perform set_config('lock_timeout', v_lock_timeout, true);
    exception when lock_not_available or deadlock_detected then
        return null;
    end;
    if exists (select from public.customer_product_affinity) then
        return null;
    end if;
    select
        c.relowner,
        c.relowner::regrole::text as owner_name,
        c.reloptions,
        c.relacl as acl,
        c.relrowsecurity,
        c.relforcerowsecurity,
        pg_catalog.obj_description(c.oid, 'pg_class') as description
    into v_old
    from pg_catalog.pg_class as c
    where c.oid = 'conductor.customer_product_affinity_rows'::regclass;

    create table conductor.customer_product_affinity_next (
        like public.customer_product_affinity including defaults including constraints including comments
    );
    if v_old.reloptions is not null then
        execute format(
            'alter table conductor.customer_product_affinity_next set (%s)',
            array_to_string(v_old.reloptions, ', ')
        );
    end if;
    v_rows := conductor.insert_product_affinity('conductor.customer_product_affinity_next', p_member_ids);

    begin
        perform set_config('lock_timeout', v_lock_wait, true);
        lock table public.customer_product_affinity in access exclusive mode;
        -- what attaching the new partition takes to check its foreign key
        lock table public.customers in share row exclusive mode;
        perform set_config('lock_timeout', v_lock_timeout, true);
    exception when lock_not_available or deadlock_detected then
        insert into public.customer_product_affinity
        select n.* from conductor.customer_product_affinity_next as n
        order by n.customer_id, n.product_sku;
        drop table conductor.customer_product_affinity_next;
        return v_rows;
    end;

    -- The new table as the install leaves the partition: exactly the old one's privileges.
    for v_privilege in
        select
            a.privilege_type,
            case when a.grantee = 0 then 'public' else quote_ident(a.grantee::regrole::text) end as grantee
        from pg_catalog.pg_class as c
        cross join lateral pg_catalog.aclexplode(c.relacl) as a
        where c.oid = 'conductor.customer_product_affinity_next'::regclass and a.grantee <> c.relowner
    loop
        execute format(
            'revoke %s on table conductor.customer_product_affinity_next from %s',
            v_privilege.privilege_type, v_privilege.grantee
        );
    end loop;
    for v_privilege in
        select
            a.privilege_type,
            case when a.grantee = 0 then 'public' else quote_ident(a.grantee::regrole::text) end as grantee,
            a.is_grantable
        from pg_catalog.aclexplode(v_old.acl) as a
        where a.grantee <> v_old.relowner
    loop
        execute format(
            'grant %s on table conductor.customer_product_affinity_next to %s%s',
            v_privilege.privilege_type, v_privilege.grantee,
            case when v_privilege.is_grantable then ' with grant option' else '' end
        );
    end loop;
    if v_old.relrowsecurity then
        alter table conductor.customer_product_affinity_next enable row level security;
    end if;
    if v_old.relforcerowsecurity then
        alter table conductor.customer_product_affinity_next force row level security;
    end if;
    execute format('comment on table conductor.customer_product_affinity_next is %L', v_old.description);

    drop table conductor.customer_product_affinity_rows;
    alter table conductor.customer_product_affinity_next rename to customer_product_affinity_rows;
    alter table public.customer_product_affinity attach partition conductor.customer_product_affinity_rows default;
    if v_old.owner_name <> current_user then
        execute format('alter table conductor.customer_product_affinity_rows owner to %I', v_old.owner_name);
    end if;
    return v_rows;
end
$$;
comment on function conductor.swap_in_product_affinity(text[]) is
'For a first load or a rebuild from raw rows: when customer_product_affinity is empty, computes these '
'customers'' rows into a new table and swaps it in as the storage partition (indexes built once, the foreign '
'key checked by one query); readers of the table wait from the swap to the commit, writers of customers '
'from the foreign-key check to the commit. Returns the rows written, or null when the table has rows or '
'writers hold it (nothing done).';

create function conductor.refresh_product_affinity(p_member_ids text[])
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
set jit = off
language plpgsql
as $$
declare
    v_rows integer;
begin
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return 0;
    end if;
    perform conductor.lock_customers(p_member_ids);

    -- A first load or a rebuild from raw rows: none of these many customers has a row yet, so
    -- nothing is compared. Into an empty table the rows go through fresh storage.
    if cardinality(p_member_ids) > 1000 and not exists (
        select from public.customer_product_affinity as a
        where a.customer_id = any(p_member_ids)
    ) then
        v_rows := coalesce(
            conductor.swap_in_product_affinity(p_member_ids),
            conductor.insert_product_affinity('public.customer_product_affinity', p_member_ids)
        );
        return v_rows;
    end if;

    -- The stored rows against what the sales give (the view's filters reach the transactions'
    -- index per customer).
    with computed as (
        select c.*
        from conductor.product_affinity_from_sales as c
        where c.customer_id = any(p_member_ids)
    ),

    existing as (
        select
            a.ctid as row_ctid,
            a.*
        from public.customer_product_affinity as a
        where a.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
    ),

    -- What to write: a full join (always hashed or merged, whatever the row estimates) of the
    -- computed rows with the stored ones; rows equal on both sides drop out here.
    diff as (
        select
            e.row_ctid,
            c.*
        from computed as c
        full join existing as e on c.customer_id = e.customer_id and c.product_sku = e.product_sku
        where
            c.customer_id is null
            or e.customer_id is null
            or (
                e.product_name, e.category, e.brand, e.purchase_count, e.units_purchased, e.total_spent,
                e.first_purchased, e.last_purchased, e.avg_price_paid, e.avg_unit_price_weighted, e.repurchase_rate,
                e.purchase_days, e.first_visit_number, e.sale_lines, e.sale_unit_price_sum,
                e.sale_spent
            ) is distinct from (
                c.product_name, c.category, c.brand, c.purchase_count, c.units_purchased, c.total_spent,
                c.first_purchased, c.last_purchased, c.avg_price_paid, c.avg_unit_price_weighted, c.repurchase_rate,
                c.purchase_days, c.first_visit_number, c.sale_lines, c.sale_unit_price_sum,
                c.sale_spent
            )
    ),

    -- Stored rows are addressed by ctid, and new rows need no conflict check: the customers are
    -- locked, so nobody else writes their rows.
    deleted as (
        delete from public.customer_product_affinity as a
        using diff as d
        where d.customer_id is null and a.ctid = d.row_ctid
        returning 1
    ),

    updated as (
        update public.customer_product_affinity as a
        set
            product_name = d.product_name,
            category = d.category,
            brand = d.brand,
            purchase_count = d.purchase_count,
            units_purchased = d.units_purchased,
            total_spent = d.total_spent,
            first_purchased = d.first_purchased,
            last_purchased = d.last_purchased,
            avg_price_paid = d.avg_price_paid,
            avg_unit_price_weighted = d.avg_unit_price_weighted,
            repurchase_rate = d.repurchase_rate,
            purchase_days = d.purchase_days,
            first_visit_number = d.first_visit_number,
            sale_lines = d.sale_lines,
            sale_unit_price_sum = d.sale_unit_price_sum,
            sale_spent = d.sale_spent,
            updated_at = now()
        from diff as d
        where d.customer_id is not null and d.row_ctid is not null and a.ctid = d.row_ctid
        returning 1
    ),

    inserted as (
        insert into public.customer_product_affinity (
            customer_id, product_sku, product_name, category, brand, purchase_count, units_purchased,
            total_spent, first_purchased, last_purchased, avg_price_paid, avg_unit_price_weighted, repurchase_rate,
            purchase_days, first_visit_number, sale_lines, sale_unit_price_sum, sale_spent
        )
        select
            d.customer_id,
            d.product_sku,
            d.product_name,
            d.category,
            d.brand,
            d.purchase_count,
            d.units_purchased,
            d.total_spent,
            d.first_purchased,
            d.last_purchased,
            d.avg_price_paid,
            d.avg_unit_price_weighted,
            d.repurchase_rate,
            d.purchase_days,
            d.first_visit_number,
            d.sale_lines,
            d.sale_unit_price_sum,
            d.sale_spent
        from diff as d
        where d.customer_id is not null and d.row_ctid is null
        returning 1
    )

    select (select count(*) from deleted) + (select count(*) from updated) + (select count(*) from inserted)
    into v_rows;
    delete from conductor.pending_affinity_refresh as p
    where p.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id));
    return v_rows;
end
$$;
comment on function conductor.refresh_product_affinity(text[]) is
'Recomputes every customer_product_affinity row of these customers from their completed transactions '
'(see the column comments); deletes rows of products they no longer bought and takes the customers off '
'conductor.pending_affinity_refresh. Returns rows changed.';

-- The common POS case in O(size of the statement): the first lines of a completed sale that is
-- its customer's latest (no other completed sale of theirs at or after its time, no lines of it
-- before this statement, the customer's affinity current: not queued). Its lines are then the
-- newest of each product they name, so each product's row adds them to its running totals, takes
-- its name, brand and category, and counts one more purchase (and one more purchase day when the
-- sale's day is new for it). Everything else is returned for the full per-customer recompute.
-- p_lines: [{transaction_id, product_sku, lines, units, unit_price_sum, spent, product_name, brand,
-- category, transaction_lines}], one per transaction and sku; transaction_lines counts all the
-- statement's lines of that transaction (with or without a sku).
-- Reads: transactions, transaction_items, customers, pending_affinity_refresh. Writes: customer_product_affinity.
create function conductor.apply_appended_sale_lines(p_lines jsonb)
returns text[]
volatile
security invoker
set search_path = pg_catalog, pg_temp
-- one small statement per sale: plans kept across calls, never re-planned per value
set plan_cache_mode = force_generic_plan
set jit = off
language plpgsql
as $$
declare
    v_time_zone text := conductor.store_time_zone();
    v_fallback text[] := '{}';
    v_done text[] := '{}';
    v_transaction record;
    v_sale record;
    v_customer record;
begin
    -- One transaction at a time, each step a lookup by key: a POS statement names one.
    for v_transaction in
        select
            d.transaction_id,
            max(d.transaction_lines) as transaction_lines
        from jsonb_to_recordset(p_lines) as d (transaction_id text, transaction_lines integer)
        group by d.transaction_id
        order by d.transaction_id
    loop
        select
            t.customer_id,
            t.date,
            t.transaction_type,
            (t.date at time zone v_time_zone)::date as sold_on
        into v_sale
        from public.transactions as t
        where t.transaction_id = v_transaction.transaction_id and t.customer_id is not null and t.status = 'completed';
        if not found or v_sale.customer_id = any(v_fallback) then
            continue;  -- no customer's affinity counts it, or the customer is recomputed anyway
        end if;
        if v_sale.transaction_type <> 'sale' or v_sale.customer_id = any(v_done) then
            v_fallback := v_fallback || v_sale.customer_id;
            continue;
        end if;
        -- locked as conductor.lock_customers locks, before anything of theirs is read
        select
            c.total_visits,
            c.total_refunds,
            c.last_visited
        into v_customer
        from public.customers as c
        where c.member_id = v_sale.customer_id
        for no key update;
        if
            v_customer.last_visited is distinct from v_sale.sold_on
            or (select count(*) from public.transaction_items as i where i.transaction_id = v_transaction.transaction_id)
            <> v_transaction.transaction_lines
            or exists (
                select from public.transactions as o
                where
                    o.customer_id = v_sale.customer_id
                    and o.status = 'completed'
                    and o.transaction_type = 'sale'
                    and o.date >= v_sale.date
                    and o.transaction_id <> v_transaction.transaction_id
            )
            or exists (select from conductor.pending_affinity_refresh as q where q.customer_id = v_sale.customer_id)
            -- a product refunded but never bought has no row yet, though its refunds count in the
            -- row the sale creates
            or v_customer.total_refunds > 0 and exists (
                select
                from public.transactions as r
                where
                    r.customer_id = v_sale.customer_id
                    and r.status = 'completed'
                    and r.transaction_type = 'refund'
                    and exists (
                        select
                        from public.transaction_items as i
                        where
                            i.transaction_id = r.transaction_id
                            and i.product_sku = any(array(
                                select l.product_sku
                                from jsonb_to_recordset(p_lines) as l (transaction_id text, product_sku text)
                                where
                                    l.transaction_id = v_transaction.transaction_id
                                    and not exists (
                                        select from public.customer_product_affinity as a
                                        where a.customer_id = v_sale.customer_id and a.product_sku = l.product_sku
                                    )
                            ))
                    )
            )
        then
            v_fallback := v_fallback || v_sale.customer_id;
            continue;
        end if;
        v_done := v_done || v_sale.customer_id;

        insert into public.customer_product_affinity as a (
            customer_id, product_sku, product_name, category, brand, purchase_count, units_purchased,
            total_spent, first_purchased, last_purchased, avg_price_paid, avg_unit_price_weighted, repurchase_rate,
            purchase_days, first_visit_number, sale_lines, sale_unit_price_sum, sale_spent
        )
        select
            v_sale.customer_id,
            l.product_sku,
            l.product_name,
            l.category,
            l.brand,
            1,
            l.units,
            l.spent,
            v_sale.sold_on,
            v_sale.sold_on,
            l.unit_price_sum / l.lines::numeric,
            round(l.spent / nullif(l.units, 0), 2),
            0.0,
            1,
            -- a product first bought on this (the latest) visit: its visit number is the count
            v_customer.total_visits,
            l.lines,
            l.unit_price_sum,
            l.spent
        from jsonb_to_recordset(p_lines) as l (
            transaction_id text, product_sku text, lines integer, units integer, unit_price_sum numeric,
            spent numeric, product_name text, brand text, category text
        )
        where l.transaction_id = v_transaction.transaction_id
        on conflict (customer_id, product_sku) do update
            set
                product_name = excluded.product_name,
                category = excluded.category,
                brand = excluded.brand,
                purchase_count = a.purchase_count + 1,
                units_purchased = a.units_purchased + excluded.units_purchased,
                total_spent = a.total_spent + excluded.total_spent,
                last_purchased = excluded.last_purchased,
                avg_price_paid
                = (a.sale_unit_price_sum + excluded.sale_unit_price_sum) / (a.sale_lines + excluded.sale_lines)::numeric,
                avg_unit_price_weighted = round(
                    (a.sale_spent + excluded.sale_spent) / nullif(a.units_purchased + excluded.units_purchased, 0), 2
                ),
                repurchase_rate = 1.0,
                purchase_days = a.purchase_days + (excluded.last_purchased > a.last_purchased)::integer,
                sale_lines = a.sale_lines + excluded.sale_lines,
                sale_unit_price_sum = a.sale_unit_price_sum + excluded.sale_unit_price_sum,
                sale_spent = a.sale_spent + excluded.sale_spent,
                updated_at = now();
    end loop;
    return v_fallback;
end
$$;
comment on function conductor.apply_appended_sale_lines(jsonb) is
'Adds the first lines of a customer''s latest completed sale to their product affinity rows (running totals, '
'no history read). p_lines: [{transaction_id, product_sku, lines, units, unit_price_sum, spent, product_name, '
'brand, category, transaction_lines}]. Returns the customers left for the full recompute.';
