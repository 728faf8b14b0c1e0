-- Trigger functions of public.messages and conductor.opt_outs: the status machine, the rules a
-- queued message must pass whoever inserts it (public.queue_sms, a plain INSERT from n8n,
-- campaign dispatch, compliance replies), the NOTIFY that wakes the bridge, and the
-- cancellation of queued messages when a number opts out. The triggers themselves are created
-- in sql/triggers/messaging.sql. They are security definer: n8n writes public.messages as
-- service_role, which has no access to the conductor schema the rules live in.
-- Every inbound row goes through the consent rules (conductor.apply_inbound_consent), whoever
-- inserts it; a possible revocation flagged for review cancels queued marketing.
-- Reads: conductor.settings, conductor.opt_outs, conductor.opt_out_reviews,
-- conductor.compliance_replies, public.customers. Writes: public.messages (cancellations, consent
-- replies), the consent tables (through conductor.apply_inbound_consent).
--
-- Status machine (anything else raises 22023 naming status):
--   inbound:  unread -> read
--   outbound: queued -> sending (bridge claim only) | cancelled
--             sending -> sent | failed | queued (retry) | outcome_unknown
--             outcome_unknown -> sent | failed | queued (an operator's decision) | cancelled
--             failed -> queued (an operator's retry)
--             sent and cancelled are final.

create function conductor.tg_messages__prepare_insert()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if new.direction is null or new.direction not in ('inbound', 'outbound') then
        raise exception 'direction: must be inbound or outbound, not %', conductor.error_excerpt(new.direction)
            using errcode = '22023';
    end if;
    if new.message_kind is null or new.message_kind not in ('reply', 'marketing', 'system') then
        raise exception 'message_kind is not valid: must be reply, marketing or system, not %',
            conductor.error_excerpt(new.message_kind)
            using errcode = '22023';
    end if;

    if new.direction = 'inbound' then
        new.status := coalesce(new.status, 'unread');
        if new.status not in ('unread', 'read') then
            raise exception 'status: an inbound message is unread or read, not %', left(new.status, 40)
                using errcode = '22023';
        end if;
        new.content := coalesce(new.content, '');
        if new.message_hash is null then
            new.message_hash := case
                when new.modem_timestamp is null
                    -- Without a network timestamp two identical texts cannot be told apart from
                    -- one stored twice: keep both (a duplicate is better than a lost message).
                    then conductor.inbound_message_hash(new.phone_number, null, new.content)
                    || ':' || new.id
                else conductor.inbound_message_hash(new.phone_number, new.modem_timestamp, new.content)
            end;
        end if;
        if new.status = 'read' then
            new.read_at := coalesce(new.read_at, pg_catalog.now());
        end if;
        new.customer_id := coalesce(new.customer_id, conductor.customer_for_phone(new.phone_number));
        return new;
    end if;

    -- Outbound.
    new.status := coalesce(new.status, 'queued');
    if new.status not in ('queued', 'sent', 'failed', 'cancelled') then
        raise exception 'status: an outbound message is inserted as queued (or as sent, failed or cancelled '
            'to record history), not %', left(new.status, 40)
            using errcode = '22023',
                  hint = 'sending and outcome_unknown are set by the bridge functions.';
    end if;
    new.message_hash := coalesce(new.message_hash, 'outbound:' || new.id);
    new.customer_id := coalesce(new.customer_id, conductor.customer_for_phone(new.phone_number));
    if new.in_reply_to is not null and not exists (
        select from public.messages as m
        where m.id = new.in_reply_to and m.direction = 'inbound' and m.phone_number = new.phone_number
    ) then
        raise exception 'in_reply_to is not an inbound message from phone_number: message % is not a text from %',
            new.in_reply_to, new.phone_number
            using errcode = '22023';
    end if;

    if new.status = 'queued' then
        perform conductor.require_queue_rules(new, true);
        new.next_attempt_at := coalesce(new.next_attempt_at, pg_catalog.now());
        if conductor.is_marketing(new.message_kind, new.in_reply_to) then
            new.next_attempt_at := conductor.marketing_send_time(
                new.next_attempt_at, conductor.recipient_time_zone(new.customer_id, new.phone_number)
            );
        end if;
        new.claimed_by := null;
        new.claimed_at := null;
        new.lease_expires_at := null;
        new.sent_at := null;
    elsif new.status = 'sent' then
        new.sent_at := coalesce(new.sent_at, new.timestamp);
    end if;
    return new;
end
$$;
comment on function conductor.tg_messages__prepare_insert() is
'Trigger: validates a new message (direction, status, kind, in_reply_to), computes message_hash when absent, '
'links customer_id by phone, and for a queued message applies conductor.require_queue_rules (content, system '
'kind reserved, reply window, opt-out, marketing suspension, frequency cap) and moves marketing into the '
'sending window.';

create function conductor.tg_messages__guard_update()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_allowed text[];
begin
    if new.direction is distinct from old.direction then
        raise exception 'direction: message % is %; direction cannot change', old.id, old.direction
            using errcode = '22023';
    end if;
    if new.message_hash is distinct from old.message_hash then
        raise exception 'message_hash: the duplicate-detection key of message % cannot change', old.id
            using errcode = '22023';
    end if;

    if old.direction = 'inbound' then
        if (new.phone_number, new.content, new.modem_timestamp) is distinct from
            (old.phone_number, old.content, old.modem_timestamp) then
            raise exception 'inbound message % is what was received: phone_number, content and modem_timestamp '
                'cannot change', old.id
                using errcode = '22023';
        end if;
        if new.status is distinct from old.status then
            if not (old.status = 'unread' and new.status = 'read') then
                raise exception 'status: inbound message % cannot go from % to %', old.id, old.status,
                    coalesce(left(new.status, 40), 'null')
                    using errcode = '22023', hint = 'Inbound messages go from unread to read.';
            end if;
            new.read_at := coalesce(new.read_at, pg_catalog.now());
        end if;
        return new;
    end if;

    -- Outbound: only a queued message may be rewritten.
    if old.status <> 'queued'
        and (new.phone_number, new.content, new.message_kind, new.in_reply_to)
        is distinct from (old.phone_number, old.content, old.message_kind, old.in_reply_to) then
        raise exception 'outbound message % is %: only a queued message can be changed', old.id, old.status
            using errcode = '22023';
    end if;

    if new.status is distinct from old.status then
        v_allowed := case old.status
            when 'queued' then array['sending', 'cancelled']
            when 'sending' then array['sent', 'failed', 'queued', 'outcome_unknown']
            when 'outcome_unknown' then array['sent', 'failed', 'queued', 'cancelled']
            when 'failed' then array['queued']
            else array[]::text[]
        end;
        if new.status is null or not new.status = any(v_allowed) then
            raise exception 'status: outbound message % cannot go from % to %', old.id, old.status,
                coalesce(left(new.status, 40), 'null')
                using errcode = '22023',
                      hint = case
                          when cardinality(v_allowed) = 0 then format('%s is final.', old.status)
                          else format('From %s it can go to: %s.', old.status, array_to_string(v_allowed, ', '))
                      end;
        end if;
        if new.status = 'sending' and (new.claimed_by is null or new.lease_expires_at is null) then
            raise exception 'status: sending is set by conductor.bridge_claim_outbound (claimed_by and '
                'lease_expires_at are required)'
                using errcode = '22023';
        end if;
        if new.status = 'sent' then
            new.sent_at := coalesce(new.sent_at, pg_catalog.now());
        end if;
        if new.status <> 'sending' then
            new.lease_expires_at := null;
        end if;
    end if;

    if new.status = 'queued'
        and (
            old.status <> 'queued'
            or (new.phone_number, new.message_kind, new.in_reply_to)
            is distinct from (old.phone_number, old.message_kind, old.in_reply_to)
        ) then
        -- Requeued, or re-addressed while queued: every rule applies again. The frequency cap is
        -- checked for a message that was not counted: one that failed (failed messages do not
        -- count), or one that changes number or becomes marketing while queued. A message coming
        -- back from sending or outcome_unknown was counted all along.
        if new.phone_number is distinct from old.phone_number then
            new.customer_id := conductor.customer_for_phone(new.phone_number);
        end if;
        if old.status = 'sending' then
            -- The bridge's automatic retry: a rule that now refuses the message fails it with the
            -- reason instead of failing the bridge's report.
            begin
                perform conductor.require_queue_rules(new, false);
            exception when raise_exception or invalid_parameter_value then
                new.status := 'failed';
                new.error_message := concat_ws(' - ', new.error_message, 'not retried: ' || sqlerrm);
                return new;
            end;
        else
            perform conductor.require_queue_rules(
                new,
                old.status = 'failed'
                or (
                    old.status = 'queued'
                    and (
                        new.phone_number is distinct from old.phone_number
                        or not conductor.is_marketing(old.message_kind, old.in_reply_to)
                    )
                )
            );
        end if;
        new.next_attempt_at := coalesce(new.next_attempt_at, pg_catalog.now());
        if conductor.is_marketing(new.message_kind, new.in_reply_to) then
            new.next_attempt_at := conductor.marketing_send_time(
                new.next_attempt_at, conductor.recipient_time_zone(new.customer_id, new.phone_number)
            );
        end if;
    elsif new.status = 'queued' and new.content is distinct from old.content then
        perform conductor.require_outbound_content(new.content);
    end if;
    return new;
end
$$;
comment on function conductor.tg_messages__guard_update() is
'Trigger: enforces the message status machine (22023 naming status on an invalid transition), keeps '
'received and sent messages unchanged, and applies conductor.require_queue_rules again on every way back '
'into queued (the frequency cap too for a failed message); the bridge''s automatic retry of a message a '
'rule now refuses becomes failed with the reason.';

create function conductor.tg_messages__notify_inserted()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.notify_outbound(
        array(
            select n.id from new_rows as n
            where n.direction = 'outbound' and n.status = 'queued'
            order by n.id
        )
    );
    return null;
end
$$;
comment on function conductor.tg_messages__notify_inserted() is
'Statement trigger: NOTIFY conductor_outbound for each outbound message inserted as queued.';

create function conductor.tg_messages__notify_requeued()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.notify_outbound(
        array(
            select n.id
            from new_rows as n
            inner join old_rows as o on n.id = o.id
            where n.direction = 'outbound' and n.status = 'queued' and o.status <> 'queued'
            order by n.id
        )
    );
    return null;
end
$$;
comment on function conductor.tg_messages__notify_requeued() is
'Statement trigger: NOTIFY conductor_outbound for each outbound message that became queued again.';

create function conductor.tg_opt_outs__cancel_queued()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    update public.messages as m
    set
        status = 'cancelled',
        error_code = 'opted_out',
        error_message = 'cancelled: the number opted out before it was sent'
    from new_rows as o
    where m.phone_number = o.phone_number
        and m.direction = 'outbound'
        and m.status = 'queued'
        and m.id is distinct from o.confirmation_message_id
        and not exists (
            select from conductor.compliance_replies as r
            where r.message_id = m.id and r.reply_type = 'help'
        );
    return null;
end
$$;
comment on function conductor.tg_opt_outs__cancel_queued() is
'Statement trigger: an opt-out (by keyword or by an operator''s insert) cancels every message still '
'queued to the number except its confirmation and help replies.';

create function conductor.tg_opt_out_reviews__cancel_marketing()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    update public.messages as m
    set
        status = 'cancelled',
        error_code = 'opt_out_review',
        error_message = 'cancelled: a text from the number may revoke consent and waits for review'
    from new_rows as r
    where m.phone_number = r.phone_number
        and r.resolved_at is null
        and m.direction = 'outbound'
        and m.status = 'queued'
        and m.message_kind = 'marketing';
    return null;
end
$$;
comment on function conductor.tg_opt_out_reviews__cancel_marketing() is
'Statement trigger: a possible revocation flagged for review cancels the marketing still queued to the number.';

create function conductor.tg_messages__apply_consent()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.apply_inbound_consent(new);
    return null;
end
$$;
comment on function conductor.tg_messages__apply_consent() is
'Trigger (after insert of an inbound message, whoever inserts it): applies the consent rules '
'(conductor.apply_inbound_consent): keywords, natural-language revocations, reviews.';

create function conductor.tg_customers__link_messages()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    -- A customer created (or given a phone) after texting: their messages are linked to them.
    if tg_level = 'ROW' then
        -- An update that gave the customer a new phone (the trigger's WHEN says so).
        update public.messages as m
        set customer_id = new.member_id
        where m.phone_number = new.phone and m.customer_id is null;
    else
        update public.messages as m
        set customer_id = n.member_id
        from new_rows as n
        where m.phone_number = n.phone and m.customer_id is null;
    end if;
    return null;
end
$$;
comment on function conductor.tg_customers__link_messages() is
'Trigger on public.customers (after insert per statement, after update per row when the phone changed): '
'messages from or to a phone with no customer yet are linked to the customer that now has that phone.';
