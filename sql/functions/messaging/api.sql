-- The messaging RPC functions n8n calls (POST /rest/v1/rpc/<name> as service_role):
-- queue_sms queues an outbound text under every rule of the queue (the same rules apply to a
-- plain INSERT into public.messages), mark_messages_read marks inbound texts read,
-- resolve_opt_out_review records a person's decision on a text that may revoke consent.
-- Errors quote at most a bounded prefix of a bad argument and start with a stable phrase.
-- Writes: public.messages, conductor.opt_out_reviews, conductor.opt_outs, conductor.consent_events.

create function public.queue_sms(
    phone_number text,
    content text,
    message_kind text default 'reply',
    in_reply_to bigint default null
)
returns bigint
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_variable
declare
    v_phone text;
    v_id bigint;
begin
    if length(phone_number) > 40 then
        raise exception 'phone_number is too long: % is not a phone number', conductor.error_excerpt(phone_number)
            using errcode = '22023';
    end if;
    v_phone := conductor.phone_argument(phone_number, 'phone_number');
    if message_kind = 'system' then
        raise exception 'system kind reserved: message_kind system is for the package''s own compliance replies '
            '(opt-out and opt-in confirmations, help); queue reply or marketing'
            using errcode = '22023';
    end if;
    if message_kind is null or message_kind not in ('reply', 'marketing') then
        raise exception 'message_kind is not valid: must be reply or marketing, not %',
            conductor.error_excerpt(message_kind)
            using errcode = '22023';
    end if;
    insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
    values (v_phone, content, 'outbound', 'queued', message_kind, in_reply_to)
    returning id into v_id;
    return v_id;
end
$$;
comment on function public.queue_sms(text, text, text, bigint) is
'Queues an SMS and returns its message id. phone_number: any common format (stored as E.164). '
'message_kind: reply (default; conversation and transactional texts) or marketing; system is reserved for '
'the package''s compliance replies. Marketing waits for the sending window (quiet_hours_start..quiet_hours_end '
'at the recipient''s time zone) and is refused over the frequency cap, unless in_reply_to names a text the '
'number sent within reply_window_hours (at most marketing_replies_per_inbound such answers per text). '
'Refusals, by leading phrase: P0001 "opted out", "marketing suspended", "frequency cap reached", "reply limit '
'reached"; 22023 "phone_number is too long", "phone_number is required", "phone_number" (malformed), '
'"message_kind is not valid", '
'"system kind reserved", "content is empty", "content is too long", "in_reply_to is not an inbound message '
'from phone_number", "in_reply_to is too old".';

create function public.mark_messages_read(message_ids bigint[])
returns integer
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_null integer;
    v_bad bigint[];
    v_bad_count integer;
    v_count integer;
begin
    if message_ids is null then
        raise exception 'message_ids is required: an array of message ids' using errcode = '22023';
    end if;
    select u.n into v_null
    from pg_catalog.unnest(message_ids) with ordinality as u (id, n)
    where u.id is null
    order by u.n
    limit 1;
    if v_null is not null then
        raise exception 'message_ids has a null element: element % is null; every element must be a message id', v_null
            using errcode = '22004';
    end if;
    select pg_catalog.array_agg(i.id order by i.id), count(*) into v_bad, v_bad_count
    from (select distinct u.id from pg_catalog.unnest(message_ids) as u (id)) as i
    where not exists (select from public.messages as m where m.id = i.id);
    if v_bad_count > 0 then
        raise exception '%', format(
            'message_ids has unknown ids: no message with id %s%s',
            pg_catalog.array_to_string(v_bad[1:10], ', '),
            case when v_bad_count > 10 then format(' (%s unknown ids, the first 10 shown)', v_bad_count) else '' end
        )
            using errcode = 'P0002';
    end if;
    select pg_catalog.array_agg(m.id order by m.id), count(*) into v_bad, v_bad_count
    from public.messages as m
    where m.id = any(message_ids) and m.direction <> 'inbound';
    if v_bad_count > 0 then
        raise exception '%', format(
            'message_ids has outbound ids: %s%s not inbound; only inbound messages are marked read',
            pg_catalog.array_to_string(v_bad[1:10], ', '),
            case when v_bad_count > 10 then format(' (%s outbound ids, the first 10 shown)', v_bad_count) else '' end
        )
            using errcode = '22023';
    end if;
    update public.messages as m
    set status = 'read', read_at = pg_catalog.now()
    where m.id = any(message_ids) and m.direction = 'inbound' and m.status = 'unread';
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function public.mark_messages_read(bigint[]) is
'Marks inbound messages read (read_at = now) and returns how many changed (already read ones are left '
'alone). Refusals, by leading phrase: 22023 "message_ids is required", 22004 "message_ids has a null '
'element" (naming the element), P0002 "message_ids has unknown ids", 22023 "message_ids has outbound ids" '
'(at most 10 ids quoted, with the count).';

create function public.resolve_opt_out_review(
    phone_number text,
    is_revocation boolean,
    reviewed_by text default null
)
returns text
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_variable
declare
    v_phone text;
begin
    if length(phone_number) > 40 then
        raise exception 'phone_number is too long: % is not a phone number', conductor.error_excerpt(phone_number)
            using errcode = '22023';
    end if;
    v_phone := conductor.phone_argument(phone_number, 'phone_number');
    if is_revocation is null then
        raise exception 'is_revocation is required: true opts the number out, false resumes marketing'
            using errcode = '22023';
    end if;
    return conductor.resolve_opt_out_review(v_phone, is_revocation, left(reviewed_by, 200));
end
$$;
comment on function public.resolve_opt_out_review(text, boolean, text) is
'A person''s decision on a text that may revoke consent (get_customer_insights.opt_out_review): '
'is_revocation true opts the number out (no confirmation text: it would come long after the five minutes '
'47 CFR 64.1200(a)(12) allows), false closes the review and marketing resumes. Returns opted_out or '
'not_revocation. Refusals, by leading phrase: 22023 "phone_number is too long", "phone_number is required", '
'"is_revocation is required"; P0002 "no open opt-out review".';
