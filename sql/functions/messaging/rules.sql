-- The rules every outbound message obeys, shared by the insert triggers, public.queue_sms,
-- campaign dispatch and the bridge claim: nothing to an opted-out number, marketing only inside
-- the recipient's sending window (quiet_hours_start..quiet_hours_end at the customer's time zone,
-- else the store's) and under the per-number frequency cap. Also the small helpers the message
-- flow shares: the NOTIFY channel, the per-number lock, the inbound hash, keyword normalization
-- (plpgsql, as hot helpers are: see docs/conventions.md).
-- Reads: conductor.settings, conductor.opt_outs, public.customers, public.messages.

create function conductor.outbound_notify_channel()
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    return 'conductor_outbound';
end
$$;
comment on function conductor.outbound_notify_channel() is
'The LISTEN/NOTIFY channel the bridge listens on; the payload is the id of a message that became queued.';

create function conductor.notify_outbound(p_message_ids bigint[])
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_id bigint;
begin
    -- Delivered by PostgreSQL at commit, never before; nothing is sent if the transaction rolls back.
    foreach v_id in array coalesce(p_message_ids, '{}'::bigint[]) loop
        perform pg_catalog.pg_notify(conductor.outbound_notify_channel(), v_id::text);
    end loop;
end
$$;
comment on function conductor.notify_outbound(bigint[]) is
'Sends one NOTIFY on conductor_outbound per message id (delivered at commit).';

create function conductor.lock_phone(p_phone_number text)
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor phone ' || p_phone_number));
end
$$;
comment on function conductor.lock_phone(text) is
'Serializes, until commit, everything that queues to or changes the consent of one number '
'(an opt-out and a queue insert can never pass each other).';

create function conductor.recipient_time_zone(p_customer_id text, p_phone_number text)
returns text
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_zone text;
begin
    if p_customer_id is not null then
        select c.time_zone into v_zone from public.customers as c where c.member_id = p_customer_id;
    end if;
    if v_zone is null and p_phone_number is not null then
        select c.time_zone into v_zone
        from public.customers as c
        where c.phone = p_phone_number and c.time_zone is not null
        order by c.last_visited desc nulls last, c.id desc
        limit 1;
    end if;
    if v_zone is not null then
        begin
            perform pg_catalog.now() at time zone v_zone;
            return v_zone;
        exception when invalid_parameter_value then
            -- A customer time zone PostgreSQL does not know: the store's zone is the safe default.
            null;
        end;
    end if;
    return conductor.store_time_zone();
end
$$;
comment on function conductor.recipient_time_zone(text, text) is
'IANA time zone for quiet hours: the customer''s time_zone when set and valid, else the store''s.';

create function conductor.marketing_send_time(p_at timestamptz, p_time_zone text)
returns timestamptz
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_start time;
    v_end time;
    v_local timestamp;
begin
    begin
        v_start := (conductor.setting('quiet_hours_start') #>> '{}')::time;
        v_end := (conductor.setting('quiet_hours_end') #>> '{}')::time;
    exception when invalid_datetime_format or datetime_field_overflow then
        raise exception 'settings quiet_hours_start and quiet_hours_end must be times of day such as "08:00"'
            using errcode = '22023';
    end;
    if v_start >= v_end then
        raise exception 'setting quiet_hours_start (%) must be earlier than quiet_hours_end (%)', v_start, v_end
            using errcode = '22023';
    end if;
    v_local := p_at at time zone p_time_zone;
    if v_local::time >= v_start and v_local::time < v_end then
        return p_at;
    elsif v_local::time < v_start then
        return (v_local::date + v_start) at time zone p_time_zone;
    end if;
    return (v_local::date + 1 + v_start) at time zone p_time_zone;
end
$$;
comment on function conductor.marketing_send_time(timestamptz, text) is
'The earliest moment at or after p_at inside the marketing sending window (quiet_hours_start to '
'quiet_hours_end, local time at p_time_zone).';

create function conductor.is_marketing(p_message_kind text, p_in_reply_to bigint)
returns boolean
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    return p_message_kind = 'marketing' and p_in_reply_to is null;
end
$$;
comment on function conductor.is_marketing(text, bigint) is
'Whether quiet hours and the frequency cap apply: marketing messages that do not answer an inbound message.';

create function conductor.is_opted_out(p_phone_number text, p_message_id bigint default null)
returns boolean
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    return exists (
        select from conductor.opt_outs as o
        where o.phone_number = p_phone_number
            and o.confirmation_message_id is distinct from p_message_id
    );
end
$$;
comment on function conductor.is_opted_out(text, bigint) is
'Whether the number opted out, so that this message (when given) must not go to it; the opt-out '
'confirmation itself is the one exception.';

create function conductor.outbound_refusal(
    p_phone_number text, p_is_marketing boolean, p_exclude_message_id bigint default null
)
returns text
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_cap integer := (conductor.setting('marketing_cap_messages') #>> '{}')::integer;
    v_days integer := (conductor.setting('marketing_cap_days') #>> '{}')::integer;
    v_count integer;
begin
    if conductor.is_opted_out(p_phone_number, p_exclude_message_id) then
        return format('phone_number %s has opted out of SMS: nothing can be queued to it', p_phone_number);
    end if;
    if p_is_marketing then
        select count(*) into v_count
        from public.messages as m
        where m.phone_number = p_phone_number
            and m.direction = 'outbound'
            and m.message_kind = 'marketing'
            and m.in_reply_to is null
            and m.status in ('queued', 'sending', 'sent', 'outcome_unknown')
            and coalesce(m.sent_at, m.next_attempt_at, m.timestamp) > pg_catalog.now() - pg_catalog.make_interval(days => v_days)
            and m.id is distinct from p_exclude_message_id;
        if v_count >= v_cap then
            return format(
                'phone_number %s already has %s marketing messages within %s days (settings marketing_cap_messages, '
                'marketing_cap_days)', p_phone_number, v_count, v_days
            );
        end if;
    end if;
    return null;
end
$$;
comment on function conductor.outbound_refusal(text, boolean, bigint) is
'Why a message may not be queued to this number now (opted out; for marketing, the frequency cap), '
'as a message naming phone_number, or null when it may.';

create function conductor.require_outbound_allowed(
    p_phone_number text, p_is_marketing boolean, p_exclude_message_id bigint default null
)
returns void
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_refusal text := conductor.outbound_refusal(p_phone_number, p_is_marketing, p_exclude_message_id);
begin
    if v_refusal is not null then
        raise exception '%', v_refusal
            using errcode = 'P0001',
                  hint = case
                      when conductor.is_opted_out(p_phone_number, p_exclude_message_id)
                          then 'The number opts back in by texting START.'
                      else 'Send it later, or as a reply (in_reply_to) if it answers the customer.'
                  end;
    end if;
end
$$;
comment on function conductor.require_outbound_allowed(text, boolean, bigint) is
'Raises P0001 naming phone_number when conductor.outbound_refusal refuses the message.';

create function conductor.require_outbound_content(p_content text)
returns void
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_limit integer := (conductor.setting('sms_max_content_length') #>> '{}')::integer;
begin
    if p_content is null or btrim(p_content) = '' then
        raise exception 'content: an outbound message must have text' using errcode = '22023';
    end if;
    if length(p_content) > v_limit then
        raise exception 'content: % characters is longer than the % allowed (setting sms_max_content_length)',
            length(p_content), v_limit
            using errcode = '22023';
    end if;
end
$$;
comment on function conductor.require_outbound_content(text) is
'Raises 22023 naming content when an outbound text is empty or longer than sms_max_content_length.';

create function conductor.inbound_message_hash(p_sender text, p_modem_timestamp timestamptz, p_content text)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    return pg_catalog.encode(
        pg_catalog.sha256(
            pg_catalog.convert_to(
                pg_catalog.jsonb_build_array(
                    p_sender, extract(epoch from p_modem_timestamp)::text, p_content
                )::text,
                'UTF8'
            )
        ),
        'hex'
    );
end
$$;
comment on function conductor.inbound_message_hash(text, timestamptz, text) is
'Duplicate-detection key of an inbound SMS: sha256 of sender, network timestamp (as an instant) and text.';

create function conductor.sms_keyword(p_content text)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    -- Compliance keywords are whole messages: only short texts are considered, without case,
    -- spaces or punctuation ("Stop.", " STOP ", "opt-out" and "Stop all!" all count).
    return case
        when length(p_content) <= 40
            then nullif(upper(regexp_replace(p_content, '[^[:alnum:]]', '', 'g')), '')
    end;
end
$$;
comment on function conductor.sms_keyword(text) is
'The text as a candidate keyword: upper case without spaces or punctuation; null for long texts.';
