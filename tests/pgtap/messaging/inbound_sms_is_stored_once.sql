-- conductor.bridge_store_inbound stores each SMS exactly once: the same sender, network timestamp
-- and text stored again (a crash between commit and AT+CMGD) returns is_new = false and changes
-- nothing. Senders that are not phone numbers are kept too, outside public.messages. The
-- sender's customer is linked; a number without a customer becomes a lead.
begin;
select plan(22);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

insert into public.customers (member_id, name, phone) values ('M-IN-1', 'Ana', '+16195550601');

select results_eq(
    $$select message_id is not null, is_new from conductor.bridge_store_inbound(
        'bridge-a', '+16195550601', 'Do you have gummies?', '2026-03-01 18:00:05+00', 4, 1::smallint)$$,
    $$values (true, true)$$,
    'a new SMS is stored'
);
select results_eq(
    $$select is_new from conductor.bridge_store_inbound(
        'bridge-a', '+16195550601', 'Do you have gummies?', '2026-03-01 10:00:05-08', 4, 1::smallint)$$,
    $$values (false)$$,
    'the same SMS again (same instant written in another zone) is not new'
);
select is(
    (
        select message_id from conductor.bridge_store_inbound(
            'bridge-a', '+16195550601', 'Do you have gummies?', '2026-03-01 18:00:05+00', 7, 1::smallint
        )
    ),
    (
        select id from public.messages
        where content = 'Do you have gummies?'
    ),
    'and returns the id of the stored row'
);
select is(
    (
        select count(*)::integer from public.messages
        where content = 'Do you have gummies?'
    ), 1, 'one row however often it is stored'
);
select results_eq(
    $$select phone_number, direction, status, modem_index, parts, customer_id, modem_timestamp
      from public.messages where content = 'Do you have gummies?'$$,
    $$values ('+16195550601'::text, 'inbound'::text, 'unread'::text, 4, 1::smallint, 'M-IN-1'::text,
              '2026-03-01 18:00:05+00'::timestamptz)$$,
    'stored unread with the SIM index, parts, network time and the customer'
);
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550601', 'Do you have gummies?', '2026-03-01 18:07:00+00', 2, 1::smallint
        )
    ), true, 'the same text sent again later is a new message'
);
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '6195550601', 'Do you have gummies?', '2026-03-01 18:07:00+00', 2, 1::smallint
        )
    ), false, 'a national-format sender is the same number'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195550601'
    ), 2, 'two messages from the customer'
);

select results_eq(
    $$select message_id, is_new from conductor.bridge_store_inbound(
        'bridge-a', 'MyCarrier', 'Your bill is ready', '2026-03-01 18:00:00+00', 9, 1::smallint)$$,
    $$values (null::bigint, true)$$,
    'an alphanumeric sender is stored (message_id null: it is not a conversation)'
);
select results_eq(
    $$select message_id, is_new from conductor.bridge_store_inbound(
        'bridge-a', 'MyCarrier', 'Your bill is ready', '2026-03-01 18:00:00+00', 9, 1::smallint)$$,
    $$values (null::bigint, false)$$,
    'and only once'
);
select lives_ok(
    $$select conductor.bridge_store_inbound('bridge-a', '72345', 'Code 1234', '2026-03-01 18:00:00+00', 10, 1::smallint)$$,
    'a short code is stored'
);
select results_eq(
    $$select sender, content, received_by, modem_index from conductor.other_sender_messages order by id$$,
    $$values ('MyCarrier'::text, 'Your bill is ready'::text, 'bridge-a'::text, 9),
             ('72345', 'Code 1234', 'bridge-a', 10)$$,
    'both are kept in conductor.other_sender_messages'
);

select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550602', '', '2026-03-01 18:00:00+00', 11, 1::smallint
        )
    ), true, 'an empty SMS is stored too'
);
select is(
    (
        select count(*)::integer
        from conductor.bridge_store_inbound('bridge-a', '+16195550603', 'no clock', null, 12, 1::smallint) as a
        cross join conductor.bridge_store_inbound('bridge-a', '+16195550603', 'no clock', null, 12, 1::smallint) as b
        where a.is_new and b.is_new
    ), 1, 'without a network timestamp both copies are kept (a duplicate rather than a loss)'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195550603'
    ), 2, 'two rows'
);

select throws_ok(
    $$select conductor.bridge_store_inbound('bridge-a', ' ', 'x', now(), 1, 1::smallint)$$,
    '22023', null, 'a sender is required'
);
select throws_ok(
    $$select conductor.bridge_store_inbound(null, '+16195550601', 'x', now(), 1, 1::smallint)$$,
    '22023', null, 'a bridge id is required'
);

-- Leads: a number without a customer creates or updates its lead (conductor.upsert_lead).
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550699', 'Are you open today?', '2026-03-01 18:00:00+00', 13, 1::smallint
        )
    ), true, 'a text from an unknown number is stored'
);
select is(
    (
        select last_message from public.leads
        where phone_number = '+16195550699'
    ), 'Are you open today?', 'a text from an unknown number creates a lead'
);
select is(
    (
        select count(*)::integer from public.leads
        where phone_number = '+16195550601'
    ), 0, 'a customer''s text creates no lead'
);

-- The texter becomes a customer later: the messages are linked to the customer.
insert into public.customers (member_id, phone) values ('M-IN-2', '619-555-0699');
select is(
    (
        select customer_id from public.messages
        where phone_number = '+16195550699'
    ), 'M-IN-2', 'a customer created later is linked to the messages from that phone'
);
update public.customers set phone = '+16195550602'
where member_id = 'M-IN-1';
select is(
    (
        select customer_id from public.messages
        where phone_number = '+16195550602'
    ), 'M-IN-1', 'and so is a customer given the phone later'
);

select * from finish();
rollback;
