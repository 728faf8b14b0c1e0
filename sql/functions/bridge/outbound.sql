-- Outbound SMS through the modem bridge. The bridge claims one due message (the claim commits
-- status sending with a lease before AT+CMGS), sends it, and reports the result:
--   bridge_mark_sent     the modem answered +CMGS: <mr>;
--   bridge_mark_failed   the send certainly did not reach the network (+CMS/+CME ERROR, no "> "
--                        prompt, port lost before the PDU was written): retried with backoff when
--                        the code is transient (conductor.send_error_codes), failed when permanent
--                        or when the retries are used up;
--   bridge_mark_unknown  the PDU was handed over but no final answer came: outcome_unknown, never
--                        resent automatically.
-- bridge_next_due_at tells the bridge how long it may sleep when no NOTIFY arrives.
-- Reads: conductor.settings, conductor.send_error_codes, conductor.opt_outs. Writes: public.messages.

create function conductor.bridge_claim_outbound(p_bridge_id text)
returns table (message_id bigint, phone_number text, content text, attempt integer)
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_kind text;
    v_message public.messages;
    v_send_at timestamptz;
    v_lease integer := (conductor.setting('send_lease_seconds') #>> '{}')::integer;
begin
    perform conductor.require_registered_bridge(p_bridge_id);
    -- Compliance replies first, then conversation replies, then marketing; oldest due first.
    foreach v_kind in array array['system', 'reply', 'marketing'] loop
        loop
            select m.* into v_message
            from public.messages as m
            where m.direction = 'outbound'
                and m.status = 'queued'
                and m.message_kind = v_kind
                and m.next_attempt_at <= pg_catalog.now()
            order by m.next_attempt_at, m.id
            limit 1
            for update skip locked;
            exit when not found;

            -- Checked again at the last moment: the number may have opted out since it was queued.
            if conductor.is_opted_out(v_message.phone_number, v_message.id) then
                update public.messages as m
                set
                    status = 'cancelled',
                    error_code = 'opted_out',
                    error_message = 'cancelled: the number opted out before it was sent'
                where m.id = v_message.id;
                continue;
            end if;
            -- A marketing message that became due outside the sending window (the bridge was
            -- down, or a backoff ran past the end) waits for the next window.
            if conductor.is_marketing(v_message.message_kind, v_message.in_reply_to) then
                v_send_at := conductor.marketing_send_time(
                    pg_catalog.now(),
                    conductor.recipient_time_zone(v_message.customer_id, v_message.phone_number)
                );
                if v_send_at > pg_catalog.now() then
                    update public.messages as m set next_attempt_at = v_send_at where m.id = v_message.id;
                    continue;
                end if;
            end if;

            update public.messages as m
            set
                status = 'sending',
                claimed_by = p_bridge_id,
                claimed_at = pg_catalog.now(),
                lease_expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => v_lease)
            where m.id = v_message.id;
            return query select v_message.id, v_message.phone_number, v_message.content, v_message.retry_count + 1;
            return;
        end loop;
    end loop;
end
$$;
comment on function conductor.bridge_claim_outbound(text) is
'Claims at most one due outbound message (FOR UPDATE SKIP LOCKED; system, then reply, then marketing): '
'status sending with claimed_by, claimed_at and lease_expires_at. Returns (message_id, phone_number, '
'content, attempt), or no row when nothing is due. Commit the claim before AT+CMGS.';

create function conductor.bridge_next_due_at()
returns timestamptz
stable
security definer
set search_path = pg_catalog, pg_temp
language sql
as $$
    select min(d.next_attempt_at)
    from pg_catalog.unnest(array['system', 'reply', 'marketing']) as k (kind)
    cross join lateral (
        select m.next_attempt_at
        from public.messages as m
        where m.direction = 'outbound' and m.status = 'queued' and m.message_kind = k.kind
        order by m.next_attempt_at
        limit 1
    ) as d
$$;
comment on function conductor.bridge_next_due_at() is
'When the next queued outbound message becomes due (null when none): the bridge sleeps until then or '
'until a NOTIFY on conductor_outbound.';

-- The message as the reporting bridge may see it: it exists, is outbound and is claimed by it.
create function conductor.claimed_message(p_bridge_id text, p_message_id bigint)
returns public.messages
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_message public.messages;
begin
    perform conductor.require_registered_bridge(p_bridge_id);
    select m.* into v_message from public.messages as m where m.id = p_message_id for update;
    if not found or v_message.direction <> 'outbound' then
        raise exception 'p_message_id: no outbound message %', coalesce(p_message_id::text, 'null')
            using errcode = 'P0002';
    end if;
    if v_message.claimed_by is distinct from p_bridge_id then
        raise exception 'p_message_id: message % is claimed by %, not by bridge %', p_message_id,
            coalesce(v_message.claimed_by, 'no bridge'), p_bridge_id
            using errcode = '55000';
    end if;
    return v_message;
end
$$;
comment on function conductor.claimed_message(text, bigint) is
'Locks and returns an outbound message claimed by the bridge; P0002 when there is none, 55000 when '
'another bridge (or none) claimed it.';

create function conductor.bridge_mark_sent(
    p_bridge_id text, p_message_id bigint, p_modem_reference integer, p_parts smallint
)
returns void
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_message public.messages := conductor.claimed_message(p_bridge_id, p_message_id);
begin
    if v_message.status = 'sent' then
        return;  -- the same report again (the bridge retried after losing the connection)
    end if;
    -- outcome_unknown is accepted too: the answer came after the lease expired.
    if v_message.status not in ('sending', 'outcome_unknown') then
        raise exception 'p_message_id: message % is %, not sending', p_message_id, v_message.status
            using errcode = '55000';
    end if;
    if p_parts is not null and p_parts < 1 then
        raise exception 'p_parts: must be at least 1, got %', p_parts using errcode = '22023';
    end if;
    update public.messages as m
    set
        status = 'sent',
        sent_at = pg_catalog.now(),
        modem_timestamp = pg_catalog.now(),
        modem_reference = p_modem_reference,
        parts = p_parts
    where m.id = p_message_id;
end
$$;
comment on function conductor.bridge_mark_sent(text, bigint, integer, smallint) is
'Records that the modem accepted the message (+CMGS: <mr>): status sent, sent_at, modem_reference (of '
'the last part) and parts. Repeating the report changes nothing.';

create function conductor.bridge_mark_failed(
    p_bridge_id text, p_message_id bigint, p_error_code text, p_error_message text
)
returns text
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_message public.messages := conductor.claimed_message(p_bridge_id, p_message_id);
    v_code text := btrim(p_error_code);
    v_permanent boolean;
    v_description text;
    v_retry integer;
    v_max integer := (conductor.setting('send_max_retries') #>> '{}')::integer;
    v_backoff jsonb := conductor.setting('send_backoff_seconds');
    v_status text;
    v_reason text;
begin
    if v_code is null or v_code = '' then
        raise exception 'p_error_code: an error code is required (CMS:<n>, CME:<n>, no_prompt, port_lost, encode_error)'
            using errcode = '22023';
    end if;
    if v_code ~* '^(cms|cme):' then
        v_code := upper(split_part(v_code, ':', 1)) || ':' || btrim(split_part(v_code, ':', 2));
    end if;
    if v_message.status in ('queued', 'failed') and v_message.lease_expires_at is null
        and v_message.error_code is not distinct from v_code and v_message.last_retry_at is not null then
        return v_message.status;  -- the same report again
    end if;
    if v_message.status not in ('sending', 'outcome_unknown') then
        raise exception 'p_message_id: message % is %, not sending', p_message_id, v_message.status
            using errcode = '55000';
    end if;

    select e.is_permanent, e.description into v_permanent, v_description
    from conductor.send_error_codes as e
    where e.code = v_code;
    v_permanent := coalesce(v_permanent, false);
    v_retry := v_message.retry_count + 1;

    perform conductor.lock_phone(v_message.phone_number);
    if v_permanent then
        v_status := 'failed';
        v_reason := 'permanent error';
    elsif v_retry > v_max then
        v_status := 'failed';
        v_reason := format('gave up after %s attempts (setting send_max_retries)', v_retry);
    elsif conductor.is_opted_out(v_message.phone_number, v_message.id) then
        v_status := 'failed';
        v_reason := 'not retried: the number opted out';
    else
        v_status := 'queued';
    end if;

    update public.messages as m
    set
        status = v_status,
        retry_count = v_retry,
        last_retry_at = pg_catalog.now(),
        error_code = v_code,
        error_message = concat_ws(
            ' - ', coalesce(nullif(btrim(p_error_message), ''), v_description), v_reason
        ),
        next_attempt_at = case
            when v_status = 'queued' then pg_catalog.now() + pg_catalog.make_interval(
                secs => coalesce(
                    (v_backoff ->> (least(v_retry, pg_catalog.jsonb_array_length(v_backoff)) - 1))::integer, 60
                )
            )
            else m.next_attempt_at
        end
    where m.id = p_message_id;
    return v_status;
end
$$;
comment on function conductor.bridge_mark_failed(text, bigint, text, text) is
'Records a send that certainly did not reach the network. Permanent codes (conductor.send_error_codes) '
'fail at once; other codes, also unknown ones, are retried after send_backoff_seconds up to '
'send_max_retries times. Returns the new status: queued or failed.';

create function conductor.bridge_mark_unknown(p_bridge_id text, p_message_id bigint, p_reason text)
returns void
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_message public.messages := conductor.claimed_message(p_bridge_id, p_message_id);
    v_reason text := coalesce(nullif(btrim(p_reason), ''), 'no final answer from the modem');
begin
    if v_message.status = 'outcome_unknown' then
        update public.messages as m
        set error_code = 'unconfirmed', error_message = v_reason
        where m.id = p_message_id and (m.error_code, m.error_message) is distinct from ('unconfirmed', v_reason);
        return;
    end if;
    if v_message.status <> 'sending' then
        raise exception 'p_message_id: message % is %, not sending', p_message_id, v_message.status
            using errcode = '55000';
    end if;
    update public.messages as m
    set status = 'outcome_unknown', error_code = 'unconfirmed', error_message = v_reason
    where m.id = p_message_id;
end
$$;
comment on function conductor.bridge_mark_unknown(text, bigint, text) is
'Records a send whose outcome is unknown (the PDU was handed to the modem, no final answer came): '
'status outcome_unknown, never resent automatically.';
