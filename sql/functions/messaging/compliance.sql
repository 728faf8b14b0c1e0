-- SMS consent handled in the database, inside the transaction that stores the inbound text
-- (whatever stores it: the bridge, a plain INSERT from n8n, an operator): the inbound trigger
-- calls conductor.apply_inbound_consent for every new inbound row. A text that is a keyword of the
-- settings (opt_out_keywords, opt_in_keywords from an opted-out number, help_keywords), or that
-- revokes consent in other words (conductor.classify_revocation over conductor.consent_phrases),
-- opts the number out with exactly one confirmation, opts it back in, or gets the help text (also
-- when opted out: it answers the customer's own request). A likely revocation that is not certain
-- suspends marketing and opens conductor.opt_out_reviews for a person. Replies are queued only for
-- texts received within compliance_reply_window_minutes. Every event is kept in
-- conductor.consent_events. docs/compliance.md explains the rules.
-- Reads: conductor.settings, conductor.consent_phrases. Writes: conductor.opt_outs,
-- conductor.consent_events, conductor.opt_out_reviews, conductor.compliance_replies,
-- public.messages (the replies, and the cancellations through the opt_outs and reviews triggers).

create function conductor.inbound_keyword_action(
    p_phone_number text, p_content text, out action text, out keyword text, out detection text
)
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_word text := conductor.sms_keyword(p_content);
    v_revocation record;
begin
    if v_word is not null then
        detection := 'keyword';
        keyword := v_word;
        if exists (
            select from pg_catalog.jsonb_array_elements_text(conductor.setting('opt_out_keywords')) as k (word)
            where conductor.sms_keyword(k.word) = v_word
        ) then
            action := 'opt_out';
            return;
        end if;
        -- Opt-in words are ordinary replies ("YES!" to an offer) unless the number is opted out.
        if conductor.is_opted_out(p_phone_number)
            and exists (
                select from pg_catalog.jsonb_array_elements_text(conductor.setting('opt_in_keywords')) as k (word)
                where conductor.sms_keyword(k.word) = v_word
            ) then
            action := 'opt_in';
            return;
        end if;
        if exists (
            select from pg_catalog.jsonb_array_elements_text(conductor.setting('help_keywords')) as k (word)
            where conductor.sms_keyword(k.word) = v_word
        ) then
            action := 'help';
            return;
        end if;
    end if;
    -- Not a bare keyword: a revocation in other words (47 CFR 64.1200(a)(10)).
    select c.verdict, c.phrase into v_revocation from conductor.classify_revocation(p_content) as c;
    if v_revocation.verdict is not null then
        action := v_revocation.verdict;
        keyword := v_revocation.phrase;
        detection := 'phrase';
        return;
    end if;
    keyword := null;
    detection := null;
end
$$;
comment on function conductor.inbound_keyword_action(text, text) is
'What an inbound text asks for: action opt_out, opt_in (only from an opted-out number), help (keywords: the '
'whole text, without case, spaces or punctuation; detection keyword), or opt_out / review from '
'conductor.classify_revocation (detection phrase); null for an ordinary message. keyword: the keyword or the '
'phrase that decided it.';

create function conductor.queue_compliance_reply(
    p_phone_number text, p_reply_type text, p_inbound_message_id bigint, p_content text
)
returns bigint
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_id bigint := pg_catalog.nextval(pg_catalog.pg_get_serial_sequence('public.messages', 'id'));
begin
    -- Registered first: the queue trigger accepts a system message only when it is registered here.
    insert into conductor.compliance_replies (message_id, phone_number, reply_type, inbound_message_id)
    values (v_id, p_phone_number, p_reply_type, p_inbound_message_id);
    insert into public.messages (id, phone_number, content, direction, status, message_kind, in_reply_to)
    values (v_id, p_phone_number, p_content, 'outbound', 'queued', 'system', p_inbound_message_id);
    return v_id;
end
$$;
comment on function conductor.queue_compliance_reply(text, text, bigint, text) is
'Queues one of the package''s own compliance replies (message_kind system) to p_inbound_message_id and '
'registers it in conductor.compliance_replies (the only way a system message can be queued). Returns its id.';

create function conductor.apply_consent_keyword(
    p_message_id bigint,
    p_phone_number text,
    p_action text,
    p_keyword text,
    p_detection text,
    p_received_at timestamptz
)
returns bigint
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_reply_id bigint;
    v_may_reply boolean := p_received_at >= pg_catalog.now() - pg_catalog.make_interval(
        mins => (conductor.setting('compliance_reply_window_minutes') #>> '{}')::integer
    );
begin
    -- The caller holds conductor.lock_phone(p_phone_number): the state read here cannot change.
    if p_action not in ('opt_out', 'opt_in', 'help', 'review') or p_action is null then
        raise exception 'p_action is not valid: must be opt_out, opt_in, help or review, not %',
            coalesce(p_action, 'null')
            using errcode = '22023';
    end if;
    insert into conductor.consent_events (phone_number, event, keyword, source_message_id, detection)
    values (p_phone_number, p_action, p_keyword, p_message_id, p_detection);

    if p_action = 'opt_out' then
        if not exists (select from conductor.opt_outs as o where o.phone_number = p_phone_number) then
            -- The confirmation is queued while the number may still receive it; the opt-out row
            -- then names it as the one message allowed through.
            if v_may_reply then
                v_reply_id := conductor.queue_compliance_reply(
                    p_phone_number, 'opt_out_confirmation', p_message_id,
                    conductor.setting(
                        case p_detection
                            when 'phrase' then 'natural_opt_out_confirmation_text'
                            else 'opt_out_confirmation_text'
                        end
                    ) #>> '{}'
                );
            end if;
            insert into conductor.opt_outs (phone_number, keyword, source_message_id, confirmation_message_id)
            values (p_phone_number, p_keyword, p_message_id, v_reply_id);
        end if;
        update conductor.opt_out_reviews as r
        set resolved_at = pg_catalog.now(), resolution = 'opted_out', resolved_by = 'keyword ' || p_keyword
        where r.phone_number = p_phone_number and r.resolved_at is null;
    elsif p_action = 'opt_in' then
        delete from conductor.opt_outs as o where o.phone_number = p_phone_number;
        if v_may_reply then
            v_reply_id := conductor.queue_compliance_reply(
                p_phone_number, 'opt_in_confirmation', p_message_id,
                conductor.setting('opt_in_confirmation_text') #>> '{}'
            );
        end if;
    elsif p_action = 'help' then
        -- Answered whatever the subscription state, opted out included: the customer asked
        -- (CTIA Messaging Principles and Best Practices). A transactional system reply, never marketing.
        if v_may_reply then
            v_reply_id := conductor.queue_compliance_reply(
                p_phone_number, 'help', p_message_id, conductor.setting('help_text') #>> '{}'
            );
        end if;
    elsif not exists (select from conductor.opt_outs as o where o.phone_number = p_phone_number) then
        -- review: marketing waits for a person (one open review per number).
        insert into conductor.opt_out_reviews (phone_number, source_message_id, matched_phrase)
        values (p_phone_number, p_message_id, p_keyword)
        on conflict (phone_number) where resolved_at is null do nothing;
    end if;
    return v_reply_id;
end
$$;
comment on function conductor.apply_consent_keyword(bigint, text, text, text, text, timestamptz) is
'Acts on what inbound message p_message_id asks for (conductor.inbound_keyword_action): records the consent '
'event; opt_out opts the number out with one confirmation (none when already opted out) and closes an open '
'review; opt_in opts it back in with a confirmation; help queues the help text (to an opted-out number too); '
'review suspends marketing by opening conductor.opt_out_reviews. Replies only for a text received '
'(p_received_at) within compliance_reply_window_minutes. Returns the reply''s id, or null. The caller holds '
'conductor.lock_phone.';

create function conductor.apply_inbound_consent(p_message public.messages)
returns text
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_action record;
begin
    perform conductor.lock_phone(p_message.phone_number);
    select a.action, a.keyword, a.detection into v_action
    from conductor.inbound_keyword_action(p_message.phone_number, p_message.content) as a;
    if v_action.action is null then
        return null;
    end if;
    perform conductor.apply_consent_keyword(
        p_message.id, p_message.phone_number, v_action.action, v_action.keyword, v_action.detection,
        p_message.timestamp
    );
    if v_action.action <> 'review' and p_message.status = 'unread' then
        -- Answered here; nobody else needs to read it. A text flagged for review stays unread.
        update public.messages as m set status = 'read' where m.id = p_message.id;
    end if;
    return v_action.action;
end
$$;
comment on function conductor.apply_inbound_consent(public.messages) is
'Applies the consent rules to a stored inbound message (called by its insert trigger, whoever inserts it): '
'returns the action taken (opt_out, opt_in, help, review) or null. Keyword texts are marked read.';

create function conductor.resolve_opt_out_review(
    p_phone_number text, p_is_revocation boolean, p_resolved_by text
)
returns text
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_review conductor.opt_out_reviews;
begin
    perform conductor.lock_phone(p_phone_number);
    v_review := conductor.open_opt_out_review(p_phone_number);
    if v_review.id is null then
        raise exception 'no open opt-out review: phone_number % has no text waiting for review', p_phone_number
            using errcode = 'P0002';
    end if;
    insert into conductor.consent_events (phone_number, event, keyword, source_message_id, detection)
    select p_phone_number, 'opt_out', v_review.matched_phrase, v_review.source_message_id, 'operator'
    where p_is_revocation;
    if p_is_revocation and not exists (select from conductor.opt_outs as o where o.phone_number = p_phone_number) then
        -- No confirmation: it would come long after the five minutes of 47 CFR 64.1200(a)(12).
        insert into conductor.opt_outs (phone_number, keyword, source_message_id)
        values (p_phone_number, v_review.matched_phrase, v_review.source_message_id);
    end if;
    update conductor.opt_out_reviews as r
    set
        resolved_at = pg_catalog.now(),
        resolution = case when p_is_revocation then 'opted_out' else 'not_revocation' end,
        resolved_by = p_resolved_by
    where r.id = v_review.id;
    return case when p_is_revocation then 'opted_out' else 'not_revocation' end;
end
$$;
comment on function conductor.resolve_opt_out_review(text, boolean, text) is
'Closes the open review of a number: p_is_revocation opts it out (no confirmation text), otherwise marketing '
'resumes. Returns the resolution; P0002 when no review is open.';
