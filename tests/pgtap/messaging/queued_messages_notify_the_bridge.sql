-- An outbound message that becomes queued (inserted, or requeued after a transient failure or by
-- an operator) sends NOTIFY conductor_outbound with its id; nothing else does. pg_notify itself
-- is delivered at commit (tests/messaging/test_notify.py); here conductor.notify_outbound is
-- replaced, inside this rolled-back transaction, by a stub that records what it is asked to send.
begin;
select plan(11);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

create temporary table notified (message_id bigint) on commit drop;
create or replace function conductor.notify_outbound(p_message_ids bigint[])
returns void
language sql
set search_path = ''
as $$
    insert into pg_temp.notified select unnest(p_message_ids)
$$;

select is(conductor.outbound_notify_channel(), 'conductor_outbound', 'the channel is conductor_outbound');

select public.queue_sms('+16195551301', 'hello') as q1 \gset
select results_eq('select message_id from notified', format('values (%s::bigint)', :q1), 'queue_sms notifies');

insert into public.messages (phone_number, content, direction, status, message_kind) values
('+16195551302', 'one', 'outbound', 'queued', 'reply'),
('+16195551303', 'two', 'outbound', 'queued', 'reply'),
('+16195551304', 'three', 'inbound', 'unread', 'reply'),
('+16195551305', 'four', 'outbound', 'sent', 'reply');
select is(
    (select count(*)::integer from notified), 3,
    'a multi-row insert notifies each queued outbound row once, not inbound or history rows'
);

truncate notified;
select message_id as claimed from conductor.bridge_claim_outbound('bridge-a') \gset
select is_empty('select * from notified', 'a claim does not notify');
select is(
    conductor.bridge_mark_failed('bridge-a', :claimed, 'CMS:332', 'timeout'), 'queued', 'a transient failure'
);
select results_eq(
    'select message_id from notified', format('values (%s::bigint)', :claimed),
    'requeueing after a transient failure notifies'
);

truncate notified;
select message_id as claimed2 from conductor.bridge_claim_outbound('bridge-a') \gset
select lives_ok(format($$select conductor.bridge_mark_sent('bridge-a', %s, 1, 1::smallint)$$, :claimed2), 'sent');
update public.messages set status = 'read'
where direction = 'inbound';
select is_empty('select * from notified', 'sent and read do not notify');

select message_id as claimed3 from conductor.bridge_claim_outbound('bridge-a') \gset
select lives_ok(format($$select conductor.bridge_mark_unknown('bridge-a', %s, 'no answer')$$, :claimed3), 'unknown');
update public.messages set status = 'queued'
where id = :claimed3;
select results_eq(
    'select message_id from notified', format('values (%s::bigint)', :claimed3),
    'an operator''s requeue notifies'
);
update public.messages set content = 'edited while queued'
where id = :claimed3;
select is((select count(*)::integer from notified), 1, 'editing a queued message does not notify again');

select * from finish();
rollback;
