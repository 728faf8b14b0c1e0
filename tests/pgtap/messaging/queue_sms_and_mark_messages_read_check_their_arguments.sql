-- The messaging RPC functions refuse bad arguments with 22023 (or P0002) naming the argument;
-- queue_sms links the customer by phone; mark_messages_read marks inbound messages read and
-- counts what changed. Only service_role may call them.
begin;
select plan(17);

insert into public.customers (member_id, phone) values ('M-Q-1', '+16195551501');
insert into public.messages (id, phone_number, content, direction, status, modem_timestamp) values
(9501, '+16195551501', 'first', 'inbound', 'unread', now()),
(9502, '+16195551501', 'second', 'inbound', 'unread', now() - interval '1 minute'),
(9503, '+16195551502', 'other', 'inbound', 'unread', now());

select throws_like(
    $$select public.queue_sms('+16195551501', '')$$, 'content is empty:%', 'empty content is refused, naming content'
);
select throws_ok(
    $$select public.queue_sms('+16195551501', '   ')$$, '22023', null, 'blank content is refused'
);
select throws_like(
    $$select public.queue_sms('+16195551501', repeat('x', 1601))$$, 'content is too long: 1601 characters%',
    'content over sms_max_content_length is refused'
);
select throws_like(
    $$select public.queue_sms('call me', 'hi')$$, 'phone_number:%', 'a bad number is refused, naming phone_number'
);
select throws_ok(
    $$select public.queue_sms(null, 'hi')$$, '22023', null, 'a number is required'
);
select throws_like(
    $$select public.queue_sms('+16195551501', 'hi', 'spam')$$, 'message_kind is not valid:%', 'an unknown kind is refused'
);
select throws_like(
    $$select public.queue_sms('+16195551501', 'hi', 'reply', 9503)$$, 'in_reply_to is not an inbound message from phone_number:%',
    'in_reply_to must be a message from the same number'
);
select public.queue_sms('(619) 555-1501', 'thanks for writing', 'reply', 9501) as reply \gset
select results_eq(
    format(
        $$select phone_number, customer_id, in_reply_to, message_kind, direction from public.messages where id = %s$$,
        :reply
    ),
    $$values ('+16195551501'::text, 'M-Q-1'::text, 9501::bigint, 'reply'::text, 'outbound'::text)$$,
    'the number is stored in E.164 and the customer linked'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status) values ('+16195551501', '', 'outbound', 'queued')$$,
    '22023', null, 'a plain insert with empty content is refused too'
);

select is(public.mark_messages_read(array[9501, 9502]::bigint[]), 2, 'two inbound messages are marked read');
select results_eq(
    $$select status, read_at from public.messages where id in (9501, 9502)$$,
    $$values ('read'::text, now()), ('read', now())$$,
    'they are read, with read_at'
);
select is(public.mark_messages_read(array[9501, 9503]::bigint[]), 1, 'already read ones are not counted again');
select is(public.mark_messages_read('{}'::bigint[]), 0, 'an empty list marks nothing');
select throws_ok(
    $$select public.mark_messages_read(null)$$, '22023', null, 'message_ids is required'
);
select throws_ok(
    format($$select public.mark_messages_read(array[%s]::bigint[])$$, :reply),
    '22023', null, 'an outbound message cannot be marked read'
);
select throws_like(
    $$select public.mark_messages_read(array[424242]::bigint[])$$, 'message_ids has unknown ids: no message with id 424242',
    'an unknown id is an error naming it'
);

select set_eq(
    $$select r.rolname from pg_catalog.pg_roles as r
      where r.rolname in ('anon', 'authenticated', 'service_role', 'conductor_bridge')
        and has_function_privilege(r.rolname, 'public.queue_sms(text, text, text, bigint)', 'EXECUTE')
        and has_function_privilege(r.rolname, 'public.mark_messages_read(bigint[])', 'EXECUTE')$$,
    $$values ('service_role')$$,
    'only service_role may call them'
);

select * from finish();
rollback;
