-- Purchase history per customer and product (public.customer_product_affinity), recomputed for
-- whole customers: a visit day inserted before others renumbers the visits every product's
-- first_visit_number counts in, so it can change every row of that customer (rows whose values
-- stay put are not written). A visit day appended after the last one changes no stored row.
-- Reads: transactions, transaction_items. Writes: customer_product_affinity, and takes the
-- customers off conductor.pending_affinity_refresh (they are current now).
-- avg_price_paid and repurchase_rate follow seed 000's populate query (docs/seed-fidelity.md);
-- avg_unit_price_weighted is the package's own measure; purchase_days and first_visit_number are
-- what the read side divides for the package's repurchase_share.
-- The refresh functions run with plan_cache_mode = force_generic_plan: their statements are
-- planned once per session instead of on every POS sale, and their plan shapes (index lookups
-- per customer, hashed or merged diffs) stay linear from one customer to a full rebuild; JIT is
-- off (a compile would cost more than a sale's work).

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
    v_time_zone text := conductor.store_time_zone();
    v_rows integer;
begin
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return 0;
    end if;
    perform conductor.lock_customers(p_member_ids);

    -- A linear pipeline (no join between aggregated sets, so no plan can go quadratic):
    -- transactions with their visit numbers -> lines -> per transaction -> per day -> per product.
    with sales as (
        select
            t.transaction_id,
            t.customer_id,
            t.date as sold_at,
            t.transaction_type = 'sale' as is_sale,
            (t.date at time zone v_time_zone)::date as sold_on,
            -- visit number of a sale's day (1 = first visit); null for refunds
            case
                when t.transaction_type = 'sale'
                    then dense_rank() over (
                        partition by t.customer_id, t.transaction_type
                        order by (t.date at time zone v_time_zone)::date
                    )
            end as visit_number
        from public.transactions as t
        where t.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id)) and t.status = 'completed'
    ),

    lines as (
        -- One window pass over each product's lines, newest sale first: the latest sale line gives
        -- the name, brand and category; a line whose transaction or day differs from the line
        -- before it starts a new purchase or a new purchase day (lines of one transaction, and of
        -- one day, are adjacent in this order).
        select
            s.customer_id,
            i.product_sku,
            s.is_sale,
            s.sold_on,
            s.visit_number,
            i.quantity,
            i.unit_price,
            -- refund lines reduce the spend by their amount, whichever sign the POS gave it
            case when s.is_sale then i.total_price else -abs(i.total_price) end as amount,
            first_value(i.product_name) over latest as product_name,
            first_value(i.brand) over latest as brand,
            first_value(i.category) over latest as category,
            (lag(s.transaction_id) over latest) is distinct from s.transaction_id as new_transaction,
            (lag(s.sold_on) over latest, lag(s.is_sale) over latest) is distinct from (s.sold_on, s.is_sale) as new_day
        from sales as s
        inner join public.transaction_items as i on s.transaction_id = i.transaction_id
        where i.product_sku is not null
        window latest as (
            partition by s.customer_id, i.product_sku
            order by s.is_sale desc, s.sold_at desc, s.transaction_id desc, i.line_number desc
        )
    ),

    per_product as (
        select
            l.customer_id,
            l.product_sku,
            max(l.product_name) as product_name,
            max(l.category) as category,
            max(l.brand) as brand,
            (count(*) filter (where l.is_sale and l.new_transaction))::integer as purchase_count,
            count(*) filter (where l.is_sale and l.new_day) as purchase_days,
            coalesce(sum(l.quantity) filter (where l.is_sale), 0)::integer as units_purchased,
            sum(l.amount) as total_spent,
            min(l.sold_on) filter (where l.is_sale) as first_purchased,
            max(l.sold_on) filter (where l.is_sale) as last_purchased,
            -- seed 000: AVG(ti.unit_price), one line one value
            avg(l.unit_price) filter (where l.is_sale) as avg_price_paid,
            round(sum(l.amount) filter (where l.is_sale) / nullif(sum(l.quantity) filter (where l.is_sale), 0), 2)
                as avg_unit_price_weighted,
            -- visit numbers grow with the day: the smallest is the first purchase's
            min(l.visit_number) as first_visit_number,
            (count(*) filter (where l.is_sale))::integer as sale_lines,
            sum(l.unit_price) filter (where l.is_sale) as sale_unit_price_sum,
            sum(l.amount) filter (where l.is_sale) as sale_spent
        from lines as l
        group by l.customer_id, l.product_sku
        having bool_or(l.is_sale)
    ),

    computed as (
        select
            p.customer_id,
            p.product_sku,
            p.product_name,
            p.category,
            p.brand,
            p.purchase_count,
            p.units_purchased,
            p.total_spent,
            p.first_purchased,
            p.last_purchased,
            p.avg_price_paid,
            p.avg_unit_price_weighted,
            -- seed 000: CASE WHEN COUNT(*) > 1 THEN 1.0 ELSE 0.0 END, counted in purchases
            case when p.purchase_count > 1 then 1.0 else 0.0 end as repurchase_rate,
            p.purchase_days::integer as purchase_days,
            p.first_visit_number::integer as first_visit_number,
            p.sale_lines,
            p.sale_unit_price_sum,
            p.sale_spent
        from per_product as p
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
