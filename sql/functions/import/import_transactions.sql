-- conductor.import_transactions(source): staged transactions -> public.transactions, upserted
-- by transaction_id in ONE statement, so the statement-level maintenance triggers on
-- transactions run once per import, not once per row. Rejected (one data issue each, naming the
-- field): no transaction_id; a missing or unreadable date (infinity, epoch, now, today and the like
-- are not dates), or one before 2000-01-01 or more than 24 hours ahead (the bounds of the
-- transactions_date_plausible constraint); a missing or bad total_amount;
-- a bad total_tax or discounts; loyalty points that are not numbers >= 0; an unknown
-- transaction_type or status; an amount whose sign does not fit the type; a refund link on a
-- sale; an unknown customer; an earlier row of a transaction_id that appears again later in the
-- batch. A refund link to a sale that is neither stored nor in the batch is left out and
-- recorded. A (staff_name, shop_location) the staff table does not know yet gets a staff row.
-- A date without a zone is local time in the store's time zone.
-- Reads and deletes conductor.staging_transactions; reads public.customers; writes
-- public.transactions, public.staff, conductor.import_batches, conductor.data_issues.

-- Planning: the staged rows are validated into a temporary table first (statistics the
-- planner can see), with nested loops, memoize and join reordering off for that statement
-- only; the upsert is planned with the session's settings, and so are the maintenance
-- triggers it fires. For the whole call JIT is off (compiling these statements costs more
-- than it saves) and work_mem is 64MB (sorts and hashes of a full export stay in memory).
create function conductor.import_transactions(p_source text)
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
set work_mem = '64MB'
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    -- ISO local times that are surely valid (day up to 28) are cast directly; the rest go
    -- through conductor.parse_timestamptz, which catches what the server cannot read.
    v_plain_time constant text :=
        '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$';
    v_batch bigint;
    v_settings jsonb;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_transactions as s where s.source = p_source) then
        return conductor.import_batch_result('transactions', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('transactions', p_source)
    returning id into v_batch;
    -- Every staged row once, each value read once (the lateral subquery is not flattened), with
    -- its first problem as "<field> <what is wrong>" (null when the row is good), in a temporary
    -- table whose statistics the statements below can see.
    analyze conductor.staging_transactions;
    v_settings := pg_catalog.jsonb_build_object(
        'enable_nestloop', pg_catalog.current_setting('enable_nestloop'),
        'enable_memoize', pg_catalog.current_setting('enable_memoize'),
        'join_collapse_limit', pg_catalog.current_setting('join_collapse_limit'),
        'DateStyle', pg_catalog.current_setting('DateStyle'),
        'TimeZone', pg_catalog.current_setting('TimeZone')
    );
    -- Dates without a zone are local times at the store; 03/04/2025 is March 4.
    perform pg_catalog.set_config('TimeZone', conductor.store_time_zone(), true);
    perform pg_catalog.set_config('DateStyle', 'ISO, MDY', true);
    perform pg_catalog.set_config('enable_nestloop', 'off', true);
    perform pg_catalog.set_config('enable_memoize', 'off', true);
    perform pg_catalog.set_config('join_collapse_limit', '1', true);
    drop table if exists pg_temp.conductor_import_transactions;
    create temporary table conductor_import_transactions on commit drop as
    select
        s.row_number,
        p.transaction_id,
        p.customer_id,
        p.date_value as date,
        p.shop_location,
        p.staff_name,
        p.terminal,
        p.payment_type,
        t.type_value as transaction_type,
        t.status_value as status,
        p.refunded_transaction_id,
        false as link_unknown,
        pg_catalog.round(p.amount_value, 2) as total_amount,
        pg_catalog.round(p.tax_value, 2) as total_tax,
        pg_catalog.round(p.discounts_value, 2) as discounts,
        pg_catalog.round(p.earned_value, 2) as loyalty_points_earned,
        pg_catalog.round(p.spent_value, 2) as loyalty_points_spent,
        case
            when p.transaction_id is null then 'transaction_id is missing (it is the business key)'
            when p.date_text is null then 'date is missing'
            when p.date_value is null then 'date is not a timestamp'
            when p.date_value < '2000-01-01 00:00:00+00'::timestamptz then 'date is before 2000-01-01'
            when p.date_value > pg_catalog.now() + interval '24 hours' then 'date is in the future'
            when p.amount_text is null then 'total_amount is missing'
            when p.amount_value is null or abs(p.amount_value) >= 1e10 then 'total_amount is not an amount'
            when p.tax_value is null or abs(p.tax_value) >= 1e10 then 'total_tax is not an amount'
            when p.discounts_value is null or abs(p.discounts_value) >= 1e10 then 'discounts is not an amount'
            when p.earned_value is null or p.earned_value < 0 or p.earned_value >= 1e10
                then 'loyalty_points_earned is not a number >= 0'
            when p.spent_value is null or p.spent_value < 0 or p.spent_value >= 1e10
                then 'loyalty_points_spent is not a number >= 0'
            when t.type_value is null then 'transaction_type is not sale or refund'
            when t.status_value is null then 'status is not completed or voided'
            when t.type_value = 'sale' and p.amount_value < 0 then 'total_amount of a sale is negative'
            when t.type_value = 'refund' and p.amount_value > 0 then 'total_amount of a refund is positive'
            when t.type_value = 'sale' and p.refunded_transaction_id is not null
                then 'refunded_transaction_id is given on a sale'
            when p.customer_id is not null and c.member_id is null then 'customer_id is not a known customer'
        end as problem
    from conductor.staging_transactions as s
    cross join lateral (
        select
            nullif(btrim(s.transaction_id), '') as transaction_id,
            nullif(btrim(s.customer_id), '') as customer_id,
            nullif(btrim(s.shop_location), '') as shop_location,
            nullif(btrim(s.staff_name), '') as staff_name,
            nullif(btrim(s.terminal), '') as terminal,
            nullif(btrim(s.payment_type), '') as payment_type,
            lower(nullif(btrim(s.transaction_type), '')) as type_text,
            lower(nullif(btrim(s.status), '')) as status_text,
            nullif(btrim(s.refunded_transaction_id), '') as refunded_transaction_id,
            nullif(btrim(s.date), '') as date_text,
            case
                when s.date ~ v_plain_time then s.date::timestamptz
                else conductor.parse_timestamptz(s.date)
            end as date_value,
            nullif(btrim(s.total_amount), '') as amount_text,
            case
                when btrim(s.total_amount) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.total_amount), ',', ''), '$', '')::numeric
            end as amount_value,
            case
                when nullif(btrim(s.total_tax), '') is null then 0
                when btrim(s.total_tax) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.total_tax), ',', ''), '$', '')::numeric
            end as tax_value,
            case
                when nullif(btrim(s.discounts), '') is null then 0
                when btrim(s.discounts) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.discounts), ',', ''), '$', '')::numeric
            end as discounts_value,
            case
                when nullif(btrim(s.loyalty_points_earned), '') is null then 0
                when btrim(s.loyalty_points_earned) ~ v_number
                    then pg_catalog.replace(btrim(s.loyalty_points_earned), ',', '')::numeric
            end as earned_value,
            case
                when nullif(btrim(s.loyalty_points_spent), '') is null then 0
                when btrim(s.loyalty_points_spent) ~ v_number
                    then pg_catalog.replace(btrim(s.loyalty_points_spent), ',', '')::numeric
            end as spent_value
        offset 0
    ) as p
    cross join lateral (
        select
            case
                when p.type_text is null then case when p.amount_value < 0 then 'refund' else 'sale' end
                when p.type_text = 'sale' then 'sale'
                when p.type_text in ('refund', 'return') then 'refund'
            end as type_value,
            case
                when p.status_text is null or p.status_text in ('completed', 'complete') then 'completed'
                when p.status_text in ('voided', 'void') then 'voided'
            end as status_value
    ) as t
    left join public.customers as c on c.member_id = p.customer_id
    where s.source = p_source;

    -- A transaction_id given twice: the last good row wins, earlier ones are rejected.
    update pg_temp.conductor_import_transactions as v
    set problem = format(
        'transaction_id is given again in the batch: row %s of the source was imported instead', d.last_row
    )
    from (
        select r.transaction_id, max(r.row_number) as last_row
        from pg_temp.conductor_import_transactions as r
        where r.problem is null
        group by r.transaction_id
        having count(*) > 1
    ) as d
    where v.problem is null and v.transaction_id = d.transaction_id and v.row_number < d.last_row;

    -- A refund of a sale that is neither stored nor imported by this batch: the link is left out
    -- (an existing row keeps its stored link).
    update pg_temp.conductor_import_transactions as v
    set link_unknown = true
    where
        v.problem is null
        and v.refunded_transaction_id is not null
        and (
            v.refunded_transaction_id = v.transaction_id
            or (
                not exists (
                    select from pg_temp.conductor_import_transactions as b
                    where b.transaction_id = v.refunded_transaction_id and b.problem is null
                )
                and not exists (
                    select from public.transactions as o where o.transaction_id = v.refunded_transaction_id
                )
            )
        );
    analyze pg_temp.conductor_import_transactions;
    perform pg_catalog.set_config(e.key, e.value, true) from pg_catalog.jsonb_each_text(v_settings) as e;

    with consumed as (
        delete from conductor.staging_transactions as s
        using pg_temp.conductor_import_transactions as v
        where s.source = p_source and s.row_number = v.row_number
        returning 1
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select
            'transactions', i.transaction_id, split_part(i.problem, ' ', 1),
            pg_catalog.to_jsonb(s) ->> split_part(i.problem, ' ', 1), i.problem, i.action, v_batch, i.row_number
        from (
            select v.row_number, v.transaction_id, v.problem, 'rejected' as action
            from pg_temp.conductor_import_transactions as v
            where v.problem is not null
            union all
            select v.row_number, v.transaction_id, 'refunded_transaction_id is not a known transaction', 'field_cleared'
            from pg_temp.conductor_import_transactions as v
            where v.problem is null and v.link_unknown
        ) as i
        inner join conductor.staging_transactions as s on s.source = p_source and s.row_number = i.row_number
        returning action
    ),

    staff_added as (
        insert into public.staff (staff_name, shop_location)
        select distinct v.staff_name, v.shop_location
        from pg_temp.conductor_import_transactions as v
        where v.problem is null and v.staff_name is not null and v.shop_location is not null
        on conflict (staff_name, shop_location) do nothing
        returning 1
    ),

    upserted as (
        insert into public.transactions as t (
            transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type,
            transaction_type, status, refunded_transaction_id, total_amount, total_tax, discounts,
            loyalty_points_earned, loyalty_points_spent
        )
        select
            v.transaction_id, v.customer_id, v.date, v.shop_location, v.staff_name, v.terminal, v.payment_type,
            v.transaction_type, v.status,
            case
                when v.link_unknown
                    then (
                        select e.refunded_transaction_id from public.transactions as e
                        where e.transaction_id = v.transaction_id
                    )
                else v.refunded_transaction_id
            end,
            v.total_amount, v.total_tax, v.discounts, v.loyalty_points_earned, v.loyalty_points_spent
        from pg_temp.conductor_import_transactions as v
        where v.problem is null
        on conflict (transaction_id) do update set
            customer_id = excluded.customer_id,
            date = excluded.date,
            shop_location = excluded.shop_location,
            staff_name = excluded.staff_name,
            terminal = excluded.terminal,
            payment_type = excluded.payment_type,
            transaction_type = excluded.transaction_type,
            status = excluded.status,
            refunded_transaction_id = excluded.refunded_transaction_id,
            total_amount = excluded.total_amount,
            total_tax = excluded.total_tax,
            discounts = excluded.discounts,
            loyalty_points_earned = excluded.loyalty_points_earned,
            loyalty_points_spent = excluded.loyalty_points_spent
        where (
            t.customer_id, t.date, t.shop_location, t.staff_name, t.terminal, t.payment_type, t.transaction_type,
            t.status, t.refunded_transaction_id, t.total_amount, t.total_tax, t.discounts,
            t.loyalty_points_earned, t.loyalty_points_spent
        ) is distinct from (
            excluded.customer_id, excluded.date, excluded.shop_location, excluded.staff_name, excluded.terminal,
            excluded.payment_type, excluded.transaction_type, excluded.status, excluded.refunded_transaction_id,
            excluded.total_amount, excluded.total_tax, excluded.discounts, excluded.loyalty_points_earned,
            excluded.loyalty_points_spent
        )
        returning t.xmax = 0 as inserted
    )

    select
        (select count(*) from consumed) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from issues where action = 'rejected') as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared,
        (select count(*) from staff_added) as staff_added
    into v_counts;
    drop table pg_temp.conductor_import_transactions;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('transactions', p_source, v_batch)
        || pg_catalog.jsonb_build_object('staff_added', v_counts.staff_added);
end
$$;
comment on function conductor.import_transactions(text) is
'Imports the staged transactions of one source (conductor.staging_transactions) into '
'public.transactions in one statement, upserting by transaction_id; adds staff rows for unknown '
'budtenders; returns the batch counts as jsonb. Re-importing the same rows changes nothing.';
