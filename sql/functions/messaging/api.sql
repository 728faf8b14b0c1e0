-- The messaging RPC functions n8n calls (POST /rest/v1/rpc/<name> as service_role):
-- queue_sms queues an outbound text under every rule of the queue (the same rules apply to a
-- plain INSERT into public.messages), mark_messages_read marks inbound texts read.
-- Writes: public.messages.

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
    v_phone text := conductor.require_phone(phone_number, 'phone_number');
    v_id bigint;
begin
    if v_phone is null then
        raise exception 'phone_number: a destination number is required' using errcode = '22023';
    end if;
    if message_kind is null or message_kind not in ('reply', 'marketing', 'system') then
        raise exception 'message_kind: must be reply, marketing or system, not %', coalesce(message_kind, 'null')
            using errcode = '22023';
    end if;
    perform conductor.require_outbound_content(content);
    if in_reply_to is not null and not exists (
        select from public.messages as m
        where m.id = in_reply_to and m.direction = 'inbound' and m.phone_number = v_phone
    ) then
        raise exception 'in_reply_to: % is not an inbound message from %', in_reply_to, v_phone
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
'message_kind: reply (default), marketing or system; marketing without in_reply_to waits for the '
'sending window (quiet_hours_start..quiet_hours_end at the recipient''s time zone) and is refused over '
'the frequency cap. Refused with P0001 naming phone_number for an opted-out number; 22023 for empty or '
'too long content, an unknown kind, or an in_reply_to that is not an inbound message from that number.';

create function public.mark_messages_read(message_ids bigint[])
returns integer
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_bad bigint[];
    v_count integer;
begin
    if message_ids is null then
        raise exception 'message_ids: an array of message ids is required' using errcode = '22023';
    end if;
    select array_agg(i.id order by i.id) into v_bad
    from (select distinct u.id from pg_catalog.unnest(message_ids) as u (id)) as i
    where not exists (select from public.messages as m where m.id = i.id);
    if v_bad is not null then
        raise exception 'message_ids: no message with id %', array_to_string(v_bad, ', ')
            using errcode = 'P0002';
    end if;
    select array_agg(m.id order by m.id) into v_bad
    from public.messages as m
    where m.id = any(message_ids) and m.direction <> 'inbound';
    if v_bad is not null then
        raise exception 'message_ids: % not inbound; only inbound messages are marked read', array_to_string(v_bad, ', ')
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
'alone). P0002 naming message_ids for unknown ids, 22023 for outbound ids.';
