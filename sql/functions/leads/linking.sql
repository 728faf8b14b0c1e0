-- Lead linking, both ways. A lead belongs to the customer with the same phone; when several
-- customers share a phone, the most recent visitor (last_visited, then the newest row), the same
-- rule the messaging layer uses for messages.customer_id. A linked lead gets the
-- lead_probability_customer setting and is promoted from new to warm; an unlinked one gets
-- lead_probability_prospect. Both directions end in the same row trigger on public.leads:
-- - a lead inserted or updated links itself (conductor.tg_leads__link_customer);
-- - customers inserted (per statement over the new rows: a 10k-row import is one update) or
--   updated (per row, only when the phone or the last visit changed) relink the waiting leads of
--   the phones they touch (conductor.tg_customers__link_leads);
-- - a deleted customer unlinks through the foreign key (on delete set null), which is an update
--   of the lead, so it relinks to another customer on the same phone if there is one.
-- The trigger functions are security definer: n8n writes leads and customers as service_role,
-- which cannot reach the conductor schema, and the rules must hold for its plain inserts and
-- updates too (a trigger function cannot be called directly, only fired).
-- Reads: public.customers, conductor.settings. Writes: public.leads, conductor.lead_events.

-- The rule itself, as a view, so that a query can join it (get_customer_insights does): one row per
-- phone. A filter on phone reaches the customers index (DISTINCT ON keeps it below the sort).
create view conductor.phone_owners as
select distinct on (c.phone)
    c.phone,
    c.member_id
from public.customers as c
where c.phone is not null
order by c.phone asc, c.last_visited desc nulls last, c.id desc;
comment on view conductor.phone_owners is
'The customer each phone number belongs to: of the customers with that phone, the most recent visitor '
'(last_visited, then the newest row).';

create function conductor.customer_for_phone(p_phone_number text)
returns text
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    -- plpgsql rather than SQL: its plan is kept (see conductor.store_time_zone).
    return (select o.member_id from conductor.phone_owners as o where o.phone = p_phone_number);
end
$$;
comment on function conductor.customer_for_phone(text) is
'member_id of the customer a phone number belongs to (conductor.phone_owners): the one with that phone, the '
'most recent visitor (last_visited, then the newest row) when several share it; null when none has it.';

create function conductor.lead_conversion_probability(p_linked boolean)
returns numeric
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_key text := case when p_linked then 'lead_probability_customer' else 'lead_probability_prospect' end;
    v_setting jsonb := conductor.setting(v_key);
begin
    if jsonb_typeof(v_setting) <> 'number'
        or (case when jsonb_typeof(v_setting) = 'number' then v_setting::numeric not between 0 and 1 end) then
        raise exception 'invalid setting: % must be a probability between 0 and 1, not %', v_key, v_setting
            using errcode = '22023';
    end if;
    return v_setting::numeric;
end
$$;
comment on function conductor.lead_conversion_probability(boolean) is
'Conversion probability for a lead linked to a customer (setting lead_probability_customer) or not '
'(lead_probability_prospect); 22023 if the setting is not a number between 0 and 1.';

create function conductor.tg_leads__link_customer()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_link_changed boolean;
begin
    new.customer_id := conductor.customer_for_phone(new.phone_number);
    v_link_changed := tg_op = 'UPDATE' and new.customer_id is distinct from old.customer_id;

    -- The probability follows the link: set when missing and whenever the link changes, unless
    -- the same statement writes its own value (a workflow's explicit estimate is kept).
    if new.conversion_probability is null
        or (v_link_changed and new.conversion_probability is not distinct from old.conversion_probability) then
        new.conversion_probability := conductor.lead_conversion_probability(new.customer_id is not null);
    end if;

    -- Only new is promoted: a status a workflow set (hot, cold, converted, lost, warm) is kept.
    if new.customer_id is not null and new.lead_status = 'new' then
        new.lead_status := 'warm';
    end if;
    return new;
end
$$;
comment on function conductor.tg_leads__link_customer() is
'Trigger (before insert or update on public.leads, per row): links the lead to the customer with its '
'phone, sets conversion_probability when missing or when the link changes (unless the statement sets it), '
'and promotes new to warm for a linked lead.';

create function conductor.link_leads(p_phone_numbers text[])
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_count integer;
begin
    -- Null means every lead: their phones. Each phone is one lookup in the leads' phone index,
    -- however many a bulk load or a rebuild passes (never a scan of the list per lead).
    if p_phone_numbers is null then
        p_phone_numbers := array(select w.phone_number from public.leads as w);
    end if;
    -- Only leads whose link, probability or promotion is out of date are written; the row
    -- trigger on public.leads then applies the rules, so there is one definition of them.
    update public.leads as l
    set customer_id = b.customer_id
    from (
        select
            w.id,
            conductor.customer_for_phone(w.phone_number) as customer_id
        from (select distinct p.phone_number from unnest(p_phone_numbers) as p (phone_number)) as p
        inner join public.leads as w on p.phone_number = w.phone_number
    ) as b
    where
        l.id = b.id
        and (
            l.customer_id is distinct from b.customer_id
            or l.conversion_probability is null
            or (b.customer_id is not null and l.lead_status = 'new')
        );
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function conductor.link_leads(text[]) is
'Relinks the leads with these phone numbers (null: every lead) whose customer, conversion probability or '
'new -> warm promotion is out of date; returns how many leads changed. Used by the customers triggers '
'and as a repair.';

create function conductor.tg_customers__link_leads()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_phones text[];
begin
    if tg_level = 'ROW' then
        -- An update that gave, took away or changed the phone; the trigger's WHEN lets every
        -- other update (totals, scores, the last visit) through without a call.
        v_phones := array_remove(array[old.phone, new.phone], null);
    else
        -- Nothing waits for a customer when there are no leads (the usual bulk import).
        if not exists (select from public.leads) then
            return null;
        end if;
        select array_agg(distinct n.phone) into v_phones
        from new_rows as n
        where n.phone is not null;
    end if;
    -- Most customers never texted: one indexed probe of public.leads and nothing else.
    if cardinality(v_phones) > 0
        and exists (select from public.leads as l where l.phone_number = any(v_phones)) then
        perform conductor.link_leads(v_phones);
    end if;
    return null;
end
$$;
comment on function conductor.tg_customers__link_leads() is
'Trigger on public.customers: after insert per statement over the new rows (a bulk import is one '
'update of leads), after update per row when the phone changed. Relinks the leads of the phones concerned.';

-- Relinks the leads of these phones, if any has one: called by the functions that write
-- customers.last_visited, for the customers whose last visit moved (among customers sharing a
-- phone, the most recent visitor gets its lead). One indexed probe when no phone has a lead.
-- Reads: leads. Writes: through conductor.link_leads.
create function conductor.relink_leads_of_phones(p_phone_numbers text[])
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if coalesce(cardinality(p_phone_numbers), 0) > 0
        and exists (select from public.leads as l where l.phone_number = any(p_phone_numbers)) then
        perform conductor.link_leads(p_phone_numbers);
    end if;
end
$$;
comment on function conductor.relink_leads_of_phones(text[]) is
'Relinks the leads of these phone numbers (conductor.link_leads) when any of them has a lead; used where '
'customers'' last visits move.';

create function conductor.tg_leads__record_events()
returns trigger
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        insert into conductor.lead_events (
            lead_id, event, occurred_at, customer_id, new_status, conversion_probability
        )
        select
            n.id,
            e.event,
            case e.event when 'created' then n.created_at else pg_catalog.now() end,
            n.customer_id,
            case e.event when 'created' then n.lead_status end,
            n.conversion_probability
        from new_rows as n
        cross join (values ('created', 1), ('linked', 2)) as e (event, ord)
        where e.event = 'created' or n.customer_id is not null
        order by n.id, e.ord;
    else
        insert into conductor.lead_events (
            lead_id, event, customer_id, previous_customer_id, old_status, new_status, conversion_probability
        )
        select
            c.id,
            e.event,
            case e.event when 'unlinked' then c.old_customer_id else c.new_customer_id end,
            case e.event when 'linked' then c.old_customer_id end,
            case e.event when 'status_changed' then c.old_status end,
            case e.event when 'status_changed' then c.new_status end,
            c.probability
        from (
            -- Old and new versions paired by grouping, not joining: the planner has no row counts
            -- for transition tables and a cached plan would join them in a nested loop.
            select
                v.id,
                max(v.customer_id) filter (where v.side = 0) as old_customer_id,
                max(v.customer_id) filter (where v.side = 1) as new_customer_id,
                max(v.lead_status) filter (where v.side = 0) as old_status,
                max(v.lead_status) filter (where v.side = 1) as new_status,
                max(v.conversion_probability) filter (where v.side = 1) as probability
            from (
                select 0 as side, o.id, o.customer_id, o.lead_status, o.conversion_probability from old_rows as o
                union all
                select 1 as side, n.id, n.customer_id, n.lead_status, n.conversion_probability from new_rows as n
            ) as v
            group by v.id
        ) as c
        cross join (values ('unlinked', 1), ('linked', 2), ('status_changed', 3)) as e (event, ord)
        where
            (e.event = 'linked' and c.new_customer_id is not null and c.new_customer_id is distinct from c.old_customer_id)
            or (e.event = 'unlinked' and c.new_customer_id is null and c.old_customer_id is not null)
            or (e.event = 'status_changed' and c.new_status is distinct from c.old_status)
        order by c.id, e.ord;
    end if;
    return null;
end
$$;
comment on function conductor.tg_leads__record_events() is
'Trigger (after insert and after update on public.leads, per statement over transition tables): records '
'created, linked, unlinked and status_changed events in conductor.lead_events.';
