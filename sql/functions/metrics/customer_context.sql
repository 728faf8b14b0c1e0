-- Keeps conductor.customer_context (sql/tables/customer_context.sql): the writes that can change
-- a customer's context raise its version (invalidate), and a builder computes the values of every
-- customer whose row is not current or whose answer is of an earlier store date (refresh), run each
-- minute by pg_cron (sql/cron/refresh_customer_context.sql). Between the two,
-- public.customer_sms_context and get_customer_insights compute the values live, so no reader ever
-- sees a stale one. Who raises versions: the maintenance triggers (a customer's transactions and
-- lines, which are also the only writers of the derived totals and visit patterns), the catalogue
-- trigger, repairs and formula revisions, the lifetime-value refresh, threshold edits, and the
-- triggers below on the customer's own row (identity and contact columns, phones shared), opt-outs,
-- opt-out reviews and leads.
-- Reads: customers, public.customer_sms_context, opt-outs, reviews, leads. Writes:
-- conductor.customer_context.

-- Called in the database transaction of every write that can change the customers' context; the
-- paths that write a customer's own rows (sales, their lines, the customer row) lock the
-- public.customers row first, then the context row. Rows are locked in member_id order, as the
-- builder locks them, so the two never deadlock. A row this transaction already made stale is not
-- written again (a POS sale's lines follow its transaction in the same database transaction).
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
-- these rows (they are not current; a row only past its date reads its still-current history
-- columns), in the statement's snapshot; the version written beside them is the one read in that
-- snapshot. A sale committed meanwhile has raised the row's version past it, so the row stays
-- stale and the next run builds it again. The answer is get_customer_insights' for a found
-- customer: found, phone_number and every column of the view, rendered once here as JSON text.
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
    v_zone text := conductor.store_time_zone();
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
        where
            x.customer_id is null
            or x.built_version <> x.version
            or not (x.insights_valid_until > now())
        order by c.member_id
        limit p_limit
    )

    insert into conductor.customer_context as x (
        customer_id, version, built_version, built_at, favorite_products, recent_purchases, favorite_category,
        preferred_location, preferred_budtender, last_purchase_at, insights, insights_valid_until
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
        v.last_purchase_at,
        (jsonb_build_object('found', true, 'phone_number', v.phone) || to_jsonb(v))::json,
        (v.as_of_date + 1)::timestamp at time zone v_zone
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
        last_purchase_at = excluded.last_purchase_at,
        insights = excluded.insights,
        insights_valid_until = excluded.insights_valid_until;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function conductor.refresh_customer_context(integer) is
'pg_cron job conductor_refresh_customer_context: computes conductor.customer_context for customers whose '
'row is stale, missing or of an earlier store date, at most p_limit of them (null: all), in member_id '
'order. Returns rows written (0 at once while another run holds its advisory lock).';

-- The customers whose context shows anything of these phones (customers_sharing_phone, opted_out,
-- opt_out_review and open_lead follow the phone) plus these members.
create function conductor.invalidate_customer_context_for(p_phones text[], p_member_ids text[] default '{}')
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.invalidate_customer_context(array(
        select c.member_id from public.customers as c
        where c.phone = any(p_phones)
        union
        select m.member_id from unnest(p_member_ids) as m (member_id)
        where m.member_id is not null
    ));
end
$$;
comment on function conductor.invalidate_customer_context_for(text[], text[]) is
'Marks stale the conductor.customer_context rows of the customers with these phones and of these members.';

-- public.customers. A changed row (per row, only when a column changed that the context shows and
-- that others than the sale maintenance write: the trigger's WHEN) makes its own context stale,
-- and with a new phone the context of those sharing the old or the new one. Inserted and deleted
-- rows change how many customers share a phone.
create function conductor.tg_customers__invalidate_context()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if tg_level = 'ROW' and old.phone is not distinct from new.phone then
        perform conductor.invalidate_customer_context(array[new.member_id]);
    elsif tg_level = 'ROW' then
        perform conductor.invalidate_customer_context_for(array[old.phone, new.phone], array[new.member_id]);
    elsif tg_op = 'INSERT' then
        -- only customers who were there before: a new customer has no ready context yet
        perform conductor.invalidate_customer_context(array(
            select c.member_id from public.customers as c
            where
                c.phone in (select n.phone from new_rows as n)
                and not exists (select from new_rows as n where n.member_id = c.member_id)
        ));
    else
        perform conductor.invalidate_customer_context_for(array(select o.phone from old_rows as o));
    end if;
    return null;
end
$$;
comment on function conductor.tg_customers__invalidate_context() is
'Trigger (after update on public.customers per changed row; after insert and delete per statement): marks '
'stale the ready AI context of the customer and of those sharing the phones involved.';

-- conductor.opt_outs, conductor.opt_out_reviews, public.leads (per statement): the context of every
-- customer with a phone of the old or new rows, and for leads of the customers they were or are
-- linked to. TRUNCATE: everyone.
create function conductor.tg_contact_rows__invalidate_context()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if tg_op = 'TRUNCATE' then
        perform conductor.invalidate_all_customer_context();
    elsif tg_table_name = 'leads' then
        if tg_op = 'INSERT' then
            perform conductor.invalidate_customer_context_for(
                array(select n.phone_number from new_rows as n), array(select n.customer_id from new_rows as n)
            );
        elsif tg_op = 'DELETE' then
            perform conductor.invalidate_customer_context_for(
                array(select o.phone_number from old_rows as o), array(select o.customer_id from old_rows as o)
            );
        else
            perform conductor.invalidate_customer_context_for(
                array(select n.phone_number from new_rows as n union select o.phone_number from old_rows as o),
                array(select n.customer_id from new_rows as n union select o.customer_id from old_rows as o)
            );
        end if;
    elsif tg_op = 'INSERT' then
        perform conductor.invalidate_customer_context_for(array(select n.phone_number from new_rows as n));
    elsif tg_op = 'DELETE' then
        perform conductor.invalidate_customer_context_for(array(select o.phone_number from old_rows as o));
    else
        perform conductor.invalidate_customer_context_for(
            array(select n.phone_number from new_rows as n union select o.phone_number from old_rows as o)
        );
    end if;
    return null;
end
$$;
comment on function conductor.tg_contact_rows__invalidate_context() is
'Trigger (after insert, update, delete, truncate on conductor.opt_outs, conductor.opt_out_reviews and '
'public.leads, per statement): marks stale the ready AI context of the customers with the phones (and, for '
'leads, the customers) of the rows written.';
