-- The message status machine: inbound unread -> read; outbound queued -> sending -> sent | failed
-- | queued (retry) | outcome_unknown, cancelled. Any other transition, and any status of the
-- other direction, is refused with 22023 naming status; what was received or sent cannot be
-- rewritten; message_hash is computed when absent (per row for outbound unless the caller
-- passes an idempotency key).
begin;
select plan(28);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

insert into public.messages (id, phone_number, content, direction, status, modem_timestamp)
values (9001, '+16195550101', 'hi there', 'inbound', 'unread', '2026-01-02 10:00:00+00');

select is(
    (
        select message_hash from public.messages
        where id = 9001
    ),
    conductor.inbound_message_hash('+16195550101', '2026-01-02 10:00:00+00', 'hi there'),
    'an inbound message_hash is computed from sender, network timestamp and text'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status)
      values ('+16195550101', 'hello', 'outbound', 'unread')$$,
    '22023', null, 'an outbound message cannot be inserted with an inbound status'
);
select throws_like(
    $$insert into public.messages (phone_number, content, direction, status)
      values ('+16195550101', 'hello', 'outbound', 'sending')$$,
    '%status%', 'an outbound message cannot be inserted as sending (the error names status)'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status)
      values ('+16195550101', 'hello', 'inbound', 'queued')$$,
    '22023', null, 'an inbound message cannot be inserted as queued'
);
select lives_ok(
    $$update public.messages set status = 'read' where id = 9001$$,
    'an inbound message goes from unread to read'
);
select isnt((
    select read_at from public.messages
    where id = 9001
), null, 'read_at is set');
select throws_like(
    $$update public.messages set status = 'unread' where id = 9001$$,
    '%status%read%unread%', 'read does not go back to unread'
);
select throws_ok(
    $$update public.messages set status = 'queued' where id = 9001$$,
    '22023', null, 'an inbound message cannot take an outbound status'
);
select throws_ok(
    $$update public.messages set content = 'edited' where id = 9001$$,
    '22023', null, 'a received text cannot be rewritten'
);
select throws_ok(
    $$update public.messages set direction = 'outbound' where id = 9001$$,
    '22023', null, 'direction cannot change'
);

select public.queue_sms('+16195550102', 'your order is ready') as q1 \gset
select is(
    (
        select status from public.messages
        where id = :q1
    ), 'queued', 'queue_sms queues the message'
);
select is(
    (
        select message_hash from public.messages
        where id = :q1
    ), 'outbound:' || :q1,
    'an outbound message_hash is unique per row when the caller gives none'
);
select public.queue_sms('+16195550102', 'your order is ready') as q1b \gset
select isnt(:q1b::bigint, :q1::bigint, 'the same text queued twice is two messages');
update public.messages set status = 'cancelled'
where id = :q1b;
select throws_like(
    format($$update public.messages set status = 'sent' where id = %s$$, :q1),
    '%cannot go from queued to sent%', 'queued cannot jump to sent'
);
select throws_like(
    format($$update public.messages set status = 'sending' where id = %s$$, :q1),
    '%bridge_claim_outbound%', 'sending is set only by the bridge claim'
);
select throws_ok(
    format($$update public.messages set status = 'unread' where id = %s$$, :q1),
    '22023', null, 'an outbound message cannot take an inbound status'
);
select lives_ok(
    format($$update public.messages set content = 'your order is ready!' where id = %s$$, :q1),
    'a queued message can still be edited'
);

select message_id as claimed from conductor.bridge_claim_outbound('bridge-a') \gset
select is(:claimed::bigint, :q1::bigint, 'the bridge claims the oldest due message');
select throws_ok(
    format($$update public.messages set content = 'too late' where id = %s$$, :q1),
    '22023', null, 'a message being sent cannot be edited'
);
select lives_ok(
    format($$select conductor.bridge_mark_sent('bridge-a', %s, 17, 1::smallint)$$, :q1),
    'sending goes to sent'
);
select throws_like(
    format($$update public.messages set status = 'queued' where id = %s$$, :q1),
    '%cannot go from sent to queued%', 'sent is final: it never goes back to queued'
);
select throws_ok(
    format($$update public.messages set status = 'cancelled' where id = %s$$, :q1),
    '22023', null, 'a sent message cannot be cancelled'
);

select public.queue_sms('+16195550103', 'see you soon') as q2 \gset
update public.messages set status = 'cancelled'
where id = :q2;
select throws_like(
    format($$update public.messages set status = 'queued' where id = %s$$, :q2),
    '%cannot go from cancelled to queued%', 'cancelled is final'
);

select public.queue_sms('+16195550104', 'failed once') as q3 \gset
select message_id as claimed3 from conductor.bridge_claim_outbound('bridge-a') \gset
select is(conductor.bridge_mark_failed('bridge-a', :q3, 'CMS:304', 'invalid PDU'), 'failed', 'sending goes to failed');
select lives_ok(
    format($$update public.messages set status = 'queued', next_attempt_at = now() where id = %s$$, :q3),
    'an operator may requeue a failed message'
);

insert into public.messages (phone_number, content, direction, status, message_hash)
values ('+16195550105', 'one', 'outbound', 'queued', 'n8n:order-42');
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status, message_hash)
      values ('+16195550105', 'one', 'outbound', 'queued', 'n8n:order-42')$$,
    '23505', null, 'a caller''s idempotency key is unique'
);
select is_empty(
    $$insert into public.messages (phone_number, content, direction, status, message_hash)
      values ('+16195550105', 'one', 'outbound', 'queued', 'n8n:order-42')
      on conflict (message_hash) do nothing returning id$$,
    'and a repeated insert can be ignored with on conflict (message_hash) do nothing'
);
select throws_ok(
    $$update public.messages set message_hash = 'other' where message_hash = 'n8n:order-42'$$,
    '22023', null, 'message_hash cannot change'
);

select * from finish();
rollback;
