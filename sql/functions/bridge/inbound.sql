-- Inbound SMS from the modem bridge, stored idempotently: the bridge calls this for each
-- complete message (multipart already joined), commits, and only then deletes the SIM slots,
-- so a crash in between makes it store the same SMS again, which changes nothing here.
-- In the same transaction: the consent rules (STOP, START, HELP, natural-language revocations),
-- applied by the messages insert trigger as for every inbound row, and the lead of a number that
-- is not a customer. Senders that are not phone numbers go to
-- conductor.other_sender_messages. Writes: public.messages, conductor.other_sender_messages,
-- conductor.opt_outs, conductor.consent_events, public.leads (through conductor.upsert_lead),
-- conductor.data_issues, conductor.inbound_parts. Reads (bridge_stored_parts):
-- conductor.inbound_parts.

create function conductor.bridge_store_inbound(
    p_bridge_id text,
    p_sender text,
    p_content text,
    p_modem_timestamp timestamptz,
    p_modem_index integer,
    p_parts smallint,
    p_part_hashes text[] default null
)
returns table (message_id bigint, is_new boolean)
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_content text := coalesce(p_content, '');
    v_phone text;
    v_hash text;
    v_id bigint;
    v_customer_id text;
begin
    perform conductor.require_registered_bridge(p_bridge_id);
    if p_sender is null or btrim(p_sender) = '' then
        raise exception 'p_sender: the sender of an inbound SMS is required' using errcode = '22023';
    end if;
    if p_parts is not null and p_parts < 1 then
        raise exception 'p_parts: must be at least 1, got %', p_parts using errcode = '22023';
    end if;

    v_phone := conductor.normalize_phone(p_sender);
    -- Without a network timestamp an SMS cannot be told apart from an identical one: it is kept
    -- (a duplicate is better than a lost message). PDU mode always carries one (TP-SCTS).
    v_hash := conductor.inbound_message_hash(coalesce(v_phone, btrim(p_sender)), p_modem_timestamp, v_content)
        || case when p_modem_timestamp is null then ':' || pg_catalog.gen_random_uuid()::text else '' end;

    -- The parts commit with the message (again when it is stored again: a crash may have come
    -- before any of them was deleted, or between two deletions).
    if pg_catalog.cardinality(p_part_hashes) > 0 then
        delete from conductor.inbound_parts as p where p.stored_at < pg_catalog.now() - interval '30 days';
        insert into conductor.inbound_parts (part_hash, message_hash)
        select distinct h.part_hash, v_hash
        from pg_catalog.unnest(p_part_hashes) as h (part_hash)
        where h.part_hash is not null
        on conflict (part_hash) do nothing;
    end if;

    if v_phone is null then
        insert into conductor.other_sender_messages (
            sender, content, modem_timestamp, received_by, modem_index, parts, message_hash
        )
        values (btrim(p_sender), v_content, p_modem_timestamp, p_bridge_id, p_modem_index, p_parts, v_hash)
        on conflict (message_hash) do nothing;
        return query select null::bigint, found;
        return;
    end if;

    perform conductor.lock_phone(v_phone);
    select m.id into v_id from public.messages as m where m.message_hash = v_hash;
    if found then
        return query select v_id, false;
        return;
    end if;

    -- The insert trigger applies the consent rules (keywords, revocations), as for any inbound row.
    insert into public.messages (
        phone_number, content, modem_timestamp, direction, message_kind, message_hash, modem_index, parts
    )
    values (v_phone, v_content, p_modem_timestamp, 'inbound', 'reply', v_hash, p_modem_index, p_parts)
    returning id, customer_id into v_id, v_customer_id;

    -- A consent text (keyword, revocation, possible revocation) makes no lead.
    if v_customer_id is null and not exists (
        select from conductor.consent_events as e
        where e.phone_number = v_phone and e.source_message_id = v_id
    ) then
        begin
            perform conductor.upsert_lead(v_phone, v_content, 'sms'::text, coalesce(p_modem_timestamp, pg_catalog.now()));
        exception when others then
            -- The message is stored whatever happens to its lead; the problem is recorded.
            insert into conductor.data_issues (entity, business_key, field, bad_value, problem, action)
            values ('leads', v_phone, 'phone_number', v_phone, 'lead from inbound SMS ' || v_id || ': ' || sqlerrm, 'rejected');
        end;
    end if;
    return query select v_id, true;
end
$$;
comment on function conductor.bridge_store_inbound(text, text, text, timestamptz, integer, smallint, text[]) is
'Stores one complete inbound SMS idempotently (message_hash from sender, network timestamp and text): '
'returns (message_id, is_new); storing it again returns is_new = false and changes nothing. Applies '
'compliance keywords and creates or updates the lead of a number without a customer. A sender that is '
'not a phone number is kept in conductor.other_sender_messages and message_id is null. p_part_hashes: '
'the fingerprints of a concatenated message''s parts, recorded for conductor.bridge_stored_parts.';

create function conductor.bridge_stored_parts(p_bridge_id text, p_part_hashes text[])
returns setof text
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.require_registered_bridge(p_bridge_id);
    return query
    select p.part_hash from conductor.inbound_parts as p
    where p.part_hash = any(p_part_hashes);
end
$$;
comment on function conductor.bridge_stored_parts(text, text[]) is
'Which of the given part fingerprints belong to a message already committed: the bridge deletes those '
'SIM slots (left behind by a crash between the commit and the deletions) instead of storing them again.';
