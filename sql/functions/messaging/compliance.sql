-- SMS consent handled in the database, inside the transaction that stores the inbound text:
-- an opt-out keyword (setting opt_out_keywords) opts the number out and queues exactly one
-- confirmation, however often it is repeated; an opt-in keyword (opt_in_keywords) from an
-- opted-out number opts it back in with a confirmation; a help keyword (help_keywords) gets
-- help_text. Every event is kept in conductor.consent_events.
-- Reads: conductor.settings. Writes: conductor.opt_outs, conductor.consent_events,
-- public.messages (the replies, and the cancellations through the opt_outs trigger).

create function conductor.inbound_keyword_action(p_phone_number text, p_content text)
returns text
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_word text := conductor.sms_keyword(p_content);
begin
    if v_word is null then
        return null;
    end if;
    if exists (
        select from pg_catalog.jsonb_array_elements_text(conductor.setting('opt_out_keywords')) as k (word)
        where conductor.sms_keyword(k.word) = v_word
    ) then
        return 'opt_out';
    end if;
    -- Opt-in words are ordinary replies ("YES!" to an offer) unless the number is opted out.
    if conductor.is_opted_out(p_phone_number)
        and exists (
            select from pg_catalog.jsonb_array_elements_text(conductor.setting('opt_in_keywords')) as k (word)
            where conductor.sms_keyword(k.word) = v_word
        ) then
        return 'opt_in';
    end if;
    if exists (
        select from pg_catalog.jsonb_array_elements_text(conductor.setting('help_keywords')) as k (word)
        where conductor.sms_keyword(k.word) = v_word
    ) then
        return 'help';
    end if;
    return null;
end
$$;
comment on function conductor.inbound_keyword_action(text, text) is
'What an inbound text asks for: opt_out, opt_in (only from an opted-out number), help, or null for an '
'ordinary message. Keywords are whole texts, compared without case, spaces or punctuation.';

create function conductor.apply_consent_keyword(
    p_message_id bigint, p_phone_number text, p_action text, p_content text
)
returns bigint
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_keyword text := conductor.sms_keyword(p_content);
    v_reply_id bigint;
begin
    -- The caller holds conductor.lock_phone(p_phone_number): the state read here cannot change.
    if p_action = 'opt_out' then
        insert into conductor.consent_events (phone_number, event, keyword, source_message_id)
        values (p_phone_number, 'opt_out', v_keyword, p_message_id);
        if not exists (select from conductor.opt_outs as o where o.phone_number = p_phone_number) then
            -- The confirmation is queued while the number may still receive it; the opt-out row
            -- then names it as the one message allowed through.
            insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
            values (
                p_phone_number, conductor.setting('opt_out_confirmation_text') #>> '{}', 'outbound', 'queued',
                'system', p_message_id
            )
            returning id into v_reply_id;
            insert into conductor.opt_outs (phone_number, keyword, source_message_id, confirmation_message_id)
            values (p_phone_number, v_keyword, p_message_id, v_reply_id);
        end if;
    elsif p_action = 'opt_in' then
        insert into conductor.consent_events (phone_number, event, keyword, source_message_id)
        values (p_phone_number, 'opt_in', v_keyword, p_message_id);
        delete from conductor.opt_outs as o where o.phone_number = p_phone_number;
        insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
        values (
            p_phone_number, conductor.setting('opt_in_confirmation_text') #>> '{}', 'outbound', 'queued',
            'system', p_message_id
        )
        returning id into v_reply_id;
    elsif p_action = 'help' then
        insert into conductor.consent_events (phone_number, event, keyword, source_message_id)
        values (p_phone_number, 'help', v_keyword, p_message_id);
        -- Nothing but the opt-out confirmation ever goes to an opted-out number, not even help.
        if not conductor.is_opted_out(p_phone_number) then
            insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
            values (
                p_phone_number, conductor.setting('help_text') #>> '{}', 'outbound', 'queued', 'system',
                p_message_id
            )
            returning id into v_reply_id;
        end if;
    else
        raise exception 'p_action: must be opt_out, opt_in or help, not %', coalesce(p_action, 'null')
            using errcode = '22023';
    end if;
    return v_reply_id;
end
$$;
comment on function conductor.apply_consent_keyword(bigint, text, text, text) is
'Acts on a compliance keyword carried by inbound message p_message_id: records the consent event, '
'opts out (one confirmation, none if already opted out) or in, or queues the help text. Returns the '
'reply''s message id, or null when none was queued. The caller holds conductor.lock_phone.';
