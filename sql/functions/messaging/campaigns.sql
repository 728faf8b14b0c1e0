-- Campaign dispatch and delivery flow-back. Every minute pg_cron (conductor_dispatch_campaigns)
-- moves due public.scheduled_messages into public.messages as queued marketing messages under
-- the queue's rules: an opted-out number, one whose marketing is suspended for review or one over
-- the frequency cap is 'skipped' with the reason, and quiet hours only delay next_attempt_at.
-- One text per phone per campaign: customers sharing a phone get one text (the phone owner's
-- personalisation); the other rows become 'skipped_duplicate_phone' with duplicate_of. A row that
-- may be texted but whose phone falls in the campaign's holdout (conductor.is_held_out) becomes
-- 'held_out': nothing is queued, and it is the control group of public.campaign_lift. The
-- compliance rules come first, so a held-out row is always one that could have been texted.
-- When the linked message changes status,
-- scheduled_messages and campaign_messages follow (statement trigger, set-based).
-- Reads: public.scheduled_messages, public.campaign_holdouts, conductor.settings. Writes: public.messages,
-- public.scheduled_messages, public.campaign_messages.

create function conductor.dispatch_campaigns()
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_batch integer := (conductor.setting('campaign_dispatch_batch_size') #>> '{}')::integer;
    v_ids bigint[];
    v_due record;
    v_phone text;
    v_refusal text;
    v_outcome text;
    v_message_id bigint;
    v_carrier public.scheduled_messages;
    v_queued integer := 0;
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor dispatch_campaigns')) then
        return 0;
    end if;
    select pg_catalog.array_agg(d.id) into v_ids
    from (
        select s.id
        from public.scheduled_messages as s
        where s.status = 'scheduled' and s.scheduled_send_time <= pg_catalog.now()
        order by s.scheduled_send_time, s.id
        limit v_batch
        for update skip locked
    ) as d;
    -- Rows of one campaign to one phone (customers who share a phone) are taken together, the row
    -- of the customer the phone belongs to (conductor.customer_for_phone: the latest visitor)
    -- first, then by time and id: that row's text is the one the phone gets.
    for v_due in
        select s.*
        from public.scheduled_messages as s
        where s.id = any(v_ids)
        window campaign_phone as (
            partition by
                case when s.campaign_name is null then s.id end, s.campaign_name, s.campaign_batch_id, s.phone_number
        )
        order by
            min(s.scheduled_send_time) over campaign_phone,
            min(s.id) over campaign_phone,
            s.customer_id is not distinct from conductor.customer_for_phone(s.phone_number) desc,
            s.scheduled_send_time,
            s.id
    loop
        v_phone := v_due.phone_number;
        v_message_id := null;
        v_outcome := 'skipped';
        perform conductor.lock_phone(v_phone);

        -- One text per phone per campaign (campaign_name and campaign_batch_id).
        if v_due.campaign_name is not null then
            select s.* into v_carrier
            from public.scheduled_messages as s
            where s.campaign_name = v_due.campaign_name
                and s.campaign_batch_id is not distinct from v_due.campaign_batch_id
                and s.phone_number = v_phone
                and s.message_id is not null
                and s.id <> v_due.id
            order by s.id
            limit 1;
            if v_carrier.id is not null then
                update public.scheduled_messages as s
                set
                    status = 'skipped_duplicate_phone',
                    duplicate_of = v_carrier.id,
                    dispatched_at = pg_catalog.now(),
                    delivery_status = null,
                    error_message = format(
                        'skipped_duplicate_phone: %s already gets campaign "%s" from scheduled message %s '
                        '(customer %s''s text)',
                        v_phone, v_due.campaign_name, v_carrier.id, coalesce(v_carrier.customer_id, 'unknown')
                    )
                where s.id = v_due.id;
                if v_due.campaign_message_id is not null then
                    update public.campaign_messages as c
                    set delivery_status = 'skipped_duplicate_phone'
                    where c.id = v_due.campaign_message_id;
                end if;
                v_carrier := null;
                continue;
            end if;
        end if;

        v_refusal := conductor.outbound_refusal(v_phone, 'marketing', null);
        -- Holdout: only a row the rules would let through is drawn, so the control group is made
        -- of recipients who could have been texted; a held-out row queues nothing. An opt-out row
        -- without a confirmation (entered by an operator) is checked here too: outbound_refusal
        -- without a message id leaves it to the insert's rules, which a held-out row never reaches.
        if v_refusal is null
            and not exists (select from conductor.opt_outs as o where o.phone_number = v_phone)
            and conductor.is_held_out(v_due.campaign_name, v_due.campaign_batch_id, v_phone) then
            update public.scheduled_messages as s
            set status = 'held_out', dispatched_at = pg_catalog.now(), delivery_status = null, error_message = null
            where s.id = v_due.id;
            if v_due.campaign_message_id is not null then
                update public.campaign_messages as c
                set delivery_status = 'held_out'
                where c.id = v_due.campaign_message_id;
            end if;
            continue;
        end if;
        if v_refusal is null then
            begin
                insert into public.messages (phone_number, content, direction, status, message_kind, customer_id)
                values (v_phone, v_due.message_content, 'outbound', 'queued', 'marketing', v_due.customer_id)
                returning id into v_message_id;
            exception
                when raise_exception then
                    v_refusal := sqlerrm;  -- a queue rule refused it after all
                when others then
                    -- One bad row (empty or too long text, ...) never blocks the campaign.
                    v_refusal := sqlerrm;
                    v_outcome := 'failed';
            end;
        end if;

        if v_message_id is null then
            update public.scheduled_messages as s
            set status = v_outcome, error_message = v_refusal, delivery_status = null, dispatched_at = pg_catalog.now()
            where s.id = v_due.id;
            continue;
        end if;
        update public.scheduled_messages as s
        set
            status = 'queued',
            message_id = v_message_id,
            delivery_status = 'queued',
            error_message = null,
            dispatched_at = pg_catalog.now()
        where s.id = v_due.id;
        if v_due.campaign_message_id is not null then
            update public.campaign_messages as c
            set conductor_message_id = v_message_id, delivery_status = 'queued'
            where c.id = v_due.campaign_message_id;
        end if;
        v_queued := v_queued + 1;
    end loop;
    return v_queued;
end
$$;
comment on function conductor.dispatch_campaigns() is
'pg_cron job conductor_dispatch_campaigns: queues due scheduled_messages (status scheduled, '
'scheduled_send_time <= now) as marketing messages and links message_id (and the campaign_messages '
'draft''s conductor_message_id). One text per phone per campaign (campaign_name, campaign_batch_id): when '
'customers share a phone, the row of the customer the phone belongs to (the latest visitor) is sent, else '
'the earliest; the others become skipped_duplicate_phone with duplicate_of naming it, and so does a row of '
'the campaign that becomes due after the phone got its text. An opted-out number, a suspended number or the '
'frequency cap makes the row skipped with error_message, a text the queue refuses (empty, too long) makes '
'it failed; quiet hours delay next_attempt_at. A row the rules let through whose phone falls in the '
'campaign''s holdout (conductor.is_held_out) becomes held_out and queues nothing. dispatched_at records '
'each decision. At most campaign_dispatch_batch_size rows per run. '
'Advisory-locked; returns how many were queued.';

create function conductor.tg_messages__campaign_status()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if not exists (
        select from new_rows as n
        inner join old_rows as o on n.id = o.id
        where n.status is distinct from o.status
    ) then
        return null;
    end if;
    update public.scheduled_messages as s
    set
        delivery_status = n.status,
        status = case n.status
            when 'sent' then 'sent'
            when 'failed' then 'failed'
            when 'outcome_unknown' then 'outcome_unknown'
            when 'cancelled' then 'cancelled'
            else 'queued'
        end,
        actual_send_time = case when n.status = 'sent' then n.sent_at else s.actual_send_time end,
        error_message = case
            when n.status in ('failed', 'outcome_unknown', 'cancelled') then n.error_message
            else s.error_message
        end
    from new_rows as n
    inner join old_rows as o on n.id = o.id
    where s.message_id = n.id and n.status is distinct from o.status;

    update public.campaign_messages as c
    set
        delivery_status = n.status,
        status = case n.status when 'sent' then 'sent' when 'failed' then 'failed' else c.status end
    from new_rows as n
    inner join old_rows as o on n.id = o.id
    where c.conductor_message_id = n.id and n.status is distinct from o.status;
    return null;
end
$$;
comment on function conductor.tg_messages__campaign_status() is
'Statement trigger: when messages change status, the linked scheduled_messages (status, delivery_status, '
'actual_send_time, error_message) and campaign_messages (delivery_status; status sent or failed) follow.';

create function conductor.tg_scheduled_messages__cancel_message()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    -- Statement triggers fire for every statement, also one that changed nothing: return at
    -- once then, so this trigger and the flow-back from messages never feed each other.
    if not exists (
        select from new_rows as n
        inner join old_rows as o on n.id = o.id
        where n.message_id is not null and n.status = 'cancelled' and o.status is distinct from 'cancelled'
    ) then
        return null;
    end if;
    -- Cancelling a dispatched campaign row stops its message if it has not left yet.
    update public.messages as m
    set
        status = 'cancelled',
        error_code = 'campaign_cancelled',
        error_message = 'cancelled with its scheduled message'
    from new_rows as n
    inner join old_rows as o on n.id = o.id
    where m.id = n.message_id
        and n.status = 'cancelled'
        and o.status is distinct from 'cancelled'
        and m.status = 'queued';
    return null;
end
$$;
comment on function conductor.tg_scheduled_messages__cancel_message() is
'Statement trigger: a scheduled message set to cancelled cancels its linked message while still queued.';
