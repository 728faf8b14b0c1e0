-- The rules every outbound message obeys, shared by the insert and update triggers,
-- public.queue_sms, campaign dispatch and the bridge claim (conductor.require_queue_rules):
-- nothing to an opted-out number but its compliance replies, system messages only from the
-- package, marketing answers only to a recent text, no marketing to a number under review,
-- marketing only inside the recipient's sending window (quiet_hours_start..quiet_hours_end at the
-- customer's time zone, else the store's) and under the per-number frequency cap. Also the small
-- helpers the message flow shares: the NOTIFY channel, the per-number lock, the inbound hash,
-- keyword normalization (plpgsql, as hot helpers are: see
-- docs/conventions.md). docs/compliance.md explains the rules.
-- Reads: conductor.settings, conductor.opt_outs, conductor.opt_out_reviews,
-- conductor.compliance_replies, public.customers, public.messages.

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
            -- an opt-out entered without a confirmation (by a person, or an import) counts too
            and (p_message_id is null or o.confirmation_message_id is distinct from p_message_id)
    )
    -- The answer to the customer's own HELP goes to an opted-out number too (CTIA: HELP is
    -- answered whatever the subscription state); it is never marketing.
    and not exists (
        select from conductor.compliance_replies as r
        where r.message_id = p_message_id and r.reply_type = 'help' and r.phone_number = p_phone_number
    );
end
$$;
comment on function conductor.is_opted_out(text, bigint) is
'Whether the number opted out, so that this message (when given) must not go to it; the exceptions are the '
'opt-out confirmation and the answer to a HELP text (conductor.compliance_replies).';

create function conductor.open_opt_out_review(p_phone_number text)
returns conductor.opt_out_reviews
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_review conductor.opt_out_reviews;
begin
    select r.* into v_review
    from conductor.opt_out_reviews as r
    where r.phone_number = p_phone_number and r.resolved_at is null;
    return v_review;
end
$$;
comment on function conductor.open_opt_out_review(text) is
'The open review of a possible revocation from this number (marketing suspended), or null.';

create function conductor.outbound_refusal(
    p_phone_number text,
    p_message_kind text,
    p_in_reply_to bigint,
    p_exclude_message_id bigint default null,
    p_check_cap boolean default true
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
    v_review conductor.opt_out_reviews;
begin
    if conductor.is_opted_out(p_phone_number, p_exclude_message_id) then
        return format('opted out: phone_number %s has opted out of SMS; nothing can be queued to it', p_phone_number);
    end if;
    if p_message_kind = 'marketing' then
        -- Suspended marketing includes marketing replies: the customer may have said "leave me alone".
        v_review := conductor.open_opt_out_review(p_phone_number);
        if v_review.id is not null then
            return format(
                'marketing suspended: phone_number %s sent a text that may revoke consent (message %s, phrase "%s"); '
                'no marketing until a person reviews it (resolve_opt_out_review)',
                p_phone_number, coalesce(v_review.source_message_id::text, 'unknown'),
                coalesce(v_review.matched_phrase, '')
            );
        end if;
    end if;
    if p_check_cap and conductor.is_marketing(p_message_kind, p_in_reply_to) then
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
                'frequency cap reached: phone_number %s already has %s marketing messages within %s days '
                '(settings marketing_cap_messages, marketing_cap_days)', p_phone_number, v_count, v_days
            );
        end if;
    end if;
    return null;
end
$$;
comment on function conductor.outbound_refusal(text, text, bigint, bigint, boolean) is
'Why a message may not be queued to this number now, as a message starting with a stable phrase (opted '
'out; marketing suspended: a possible revocation waits for review; frequency cap reached, checked for '
'marketing that answers no recent text when p_check_cap), or null when it may.';

create function conductor.require_outbound_allowed(
    p_phone_number text,
    p_message_kind text,
    p_in_reply_to bigint,
    p_exclude_message_id bigint default null,
    p_check_cap boolean default true
)
returns void
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_refusal text := conductor.outbound_refusal(
        p_phone_number, p_message_kind, p_in_reply_to, p_exclude_message_id, p_check_cap
    );
begin
    if v_refusal is not null then
        raise exception '%', v_refusal
            using errcode = 'P0001',
                  hint = case
                      when v_refusal like 'opted out:%' then 'The number opts back in by texting START.'
                      when v_refusal like 'marketing suspended:%'
                          then 'A person closes the review with resolve_opt_out_review(phone_number, is_revocation).'
                      else 'Send it later, or as a reply (in_reply_to) if it answers a recent text from the customer.'
                  end;
    end if;
end
$$;
comment on function conductor.require_outbound_allowed(text, text, bigint, bigint, boolean) is
'Raises P0001 with the message of conductor.outbound_refusal when it refuses the message.';

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
        raise exception 'content is empty: an outbound message must have text' using errcode = '22023';
    end if;
    if length(p_content) > v_limit then
        raise exception 'content is too long: % characters, more than the % allowed (setting sms_max_content_length)',
            length(p_content), v_limit
            using errcode = '22023';
    end if;
end
$$;
comment on function conductor.require_outbound_content(text) is
'Raises 22023 naming content when an outbound text is empty or longer than sms_max_content_length.';

create function conductor.require_queue_rules(p_message public.messages, p_check_cap boolean)
returns void
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_inbound public.messages;
    v_window integer := (conductor.setting('reply_window_hours') #>> '{}')::integer;
    v_per_inbound integer := (conductor.setting('marketing_replies_per_inbound') #>> '{}')::integer;
    v_replies integer;
begin
    perform conductor.require_outbound_content(p_message.content);
    if p_message.message_kind = 'system' and not exists (
        select from conductor.compliance_replies as r
        where r.message_id = p_message.id and r.phone_number = p_message.phone_number
    ) then
        raise exception 'system kind reserved: message_kind system is for the package''s own compliance replies '
            '(opt-out and opt-in confirmations, help); queue reply or marketing'
            using errcode = '22023';
    end if;
    if p_message.in_reply_to is not null then
        select m.* into v_inbound from public.messages as m where m.id = p_message.in_reply_to;
        if v_inbound.id is null or v_inbound.direction <> 'inbound' or v_inbound.phone_number <> p_message.phone_number then
            raise exception 'in_reply_to is not an inbound message from phone_number: message % is not a text from %',
                p_message.in_reply_to, p_message.phone_number
                using errcode = '22023';
        end if;
        if p_message.message_kind = 'marketing' then
            -- A marketing text skips quiet hours and the cap only as the answer to a recent text.
            if v_inbound.timestamp < pg_catalog.now() - pg_catalog.make_interval(hours => v_window) then
                raise exception 'in_reply_to is too old: message % from % arrived at %, more than % hours ago '
                    '(setting reply_window_hours)', v_inbound.id, v_inbound.phone_number, v_inbound.timestamp, v_window
                    using errcode = '22023',
                          hint = 'Queue it without in_reply_to: quiet hours and the frequency cap then apply.';
            end if;
            select count(*) into v_replies
            from public.messages as m
            where m.in_reply_to = v_inbound.id
                and m.direction = 'outbound'
                and m.message_kind = 'marketing'
                and m.status in ('queued', 'sending', 'sent', 'outcome_unknown')
                and m.id <> p_message.id;
            if v_replies >= v_per_inbound then
                raise exception 'reply limit reached: inbound message % already has % marketing replies '
                    '(setting marketing_replies_per_inbound)', v_inbound.id, v_replies
                    using errcode = 'P0001',
                          hint = 'Queue it without in_reply_to: quiet hours and the frequency cap then apply.';
            end if;
        end if;
    end if;
    perform conductor.lock_phone(p_message.phone_number);
    perform conductor.require_outbound_allowed(
        p_message.phone_number, p_message.message_kind, p_message.in_reply_to, p_message.id, p_check_cap
    );
end
$$;
comment on function conductor.require_queue_rules(public.messages, boolean) is
'Every rule a message must pass to become queued, whoever queues it (insert, requeue, RPC, campaign): '
'content; system kind only for registered compliance replies; in_reply_to an inbound text from the same '
'number, and for marketing one received within reply_window_hours with at most marketing_replies_per_inbound '
'marketing answers; then, under the number''s lock, opt-out, marketing suspension and (p_check_cap) the '
'frequency cap. Raises 22023 or P0001 with a message starting with a stable phrase.';

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
