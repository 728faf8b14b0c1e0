-- The messaging RPCs never echo a whole bad argument: a megabyte phone number or message_kind is
-- quoted by its first 40 characters and its length, 200,000 unknown ids by the first 10 and their
-- count; a null element of message_ids is named by its position (22004). Every refusal starts with
-- a stable phrase.
begin;
select plan(9);

select throws_ok(
    $$select public.queue_sms(repeat('1', 1000000), 'hi')$$, '22023',
    format('phone_number is too long: "%s..." (1000000 characters) is not a phone number', repeat('1', 40)),
    'a 1 MB phone number is quoted by its first 40 characters and its length'
);
select throws_ok(
    $$select public.queue_sms('+16195552701', 'hi', repeat('m', 1000000))$$, '22023',
    format('message_kind is not valid: must be reply or marketing, not "%s..." (1000000 characters)', repeat('m', 40)),
    'so is a 1 MB message_kind'
);
select throws_ok(
    $$select public.queue_sms('+16195552701', 'hi', 'spam')$$, '22023',
    'message_kind is not valid: must be reply or marketing, not "spam"',
    'a short one is quoted whole'
);
select throws_ok(
    $$select public.queue_sms('+16195552701', 'hi', null)$$, '22023',
    'message_kind is not valid: must be reply or marketing, not null',
    'a null kind is named'
);
select throws_ok(
    $$select public.mark_messages_read(array(select g::bigint from generate_series(1000001, 1200000) as g))$$,
    'P0002',
    'message_ids has unknown ids: no message with id 1000001, 1000002, 1000003, 1000004, 1000005, 1000006, '
    || '1000007, 1000008, 1000009, 1000010 (200000 unknown ids, the first 10 shown)',
    '200,000 unknown ids: the first 10 and the count'
);
select throws_ok(
    $$select public.mark_messages_read(array[null]::bigint[])$$, '22004',
    'message_ids has a null element: element 1 is null; every element must be a message id',
    'a null element is named by its position'
);
insert into public.messages (id, phone_number, content, direction) values (9801, '+16195552701', 'hi', 'inbound');
select throws_ok(
    $$select public.mark_messages_read(array[9801, null]::bigint[])$$, '22004',
    'message_ids has a null element: element 2 is null; every element must be a message id',
    'wherever it is'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, message_kind)
      values ('+16195552701', 'hi', 'outbound', repeat('k', 100000))$$, '22023',
    format('message_kind is not valid: must be reply, marketing or system, not "%s..." (100000 characters)', repeat('k', 40)),
    'a plain insert quotes a bounded prefix too'
);
select throws_ok(
    $$select public.resolve_opt_out_review(repeat('9', 500000), true)$$, '22023',
    format('phone_number is too long: "%s..." (500000 characters) is not a phone number', repeat('9', 40)),
    'resolve_opt_out_review bounds it as well'
);

select * from finish();
rollback;
