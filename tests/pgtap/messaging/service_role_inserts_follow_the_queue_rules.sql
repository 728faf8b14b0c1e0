-- n8n writes public.messages as service_role, which cannot reach the conductor schema: its
-- plain inserts and updates work and the queue's rules still apply to them (the trigger
-- functions run as their owner). Nothing runs as the owner before the role switch: PL/pgSQL
-- checks privileges when an expression is first used in a transaction.
begin;
select plan(8);

set local role service_role;
select lives_ok(
    $$insert into public.messages (phone_number, content, direction, status)
      values ('(619) 555-1602', 'hello from n8n', 'outbound', 'queued')$$,
    'service_role queues a message with a plain insert'
);
select lives_ok(
    $$insert into public.messages (id, phone_number, content, direction, status, modem_timestamp)
      values (9601, '+16195551602', 'hi', 'inbound', 'unread', now())$$,
    'and stores an inbound message'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status)
      values ('+16195551602', '', 'outbound', 'queued')$$,
    '22023', null, 'empty content is refused'
);
select lives_ok(
    $$update public.messages set status = 'read' where id = 9601$$,
    'it marks an inbound message read with a plain update'
);
select throws_ok(
    $$update public.messages set status = 'unread' where id = 9601$$,
    '22023', null, 'the status machine holds'
);
select isnt(public.queue_sms('+16195551602', 'via rpc'), null, 'it calls queue_sms');
reset role;

insert into conductor.opt_outs (phone_number, keyword) values ('+16195551601', 'STOP');
set local role service_role;
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status)
      values ('+16195551601', 'hello', 'outbound', 'queued')$$,
    'P0001', null, 'an opted-out number is refused'
);
reset role;

select is(
    (
        select next_attempt_at from public.messages
        where content = 'hello from n8n'
    ), now(), 'its insert was prepared like any other (next_attempt_at set)'
);

select * from finish();
rollback;
