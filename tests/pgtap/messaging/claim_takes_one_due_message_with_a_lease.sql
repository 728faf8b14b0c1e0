-- The bridge claims at most one due outbound message at a time: compliance replies first, then
-- conversation replies, then marketing, oldest first; the claim sets sending, claimed_by,
-- claimed_at and a lease of send_lease_seconds; messages not yet due are left for
-- bridge_next_due_at; a message to a number that opted out in the meantime is cancelled, not sent.
begin;
select plan(17);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
    perform conductor.bridge_hello('bridge-b', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

-- The store's clock reads noon, inside the marketing window, whenever this runs.
update conductor.settings
set
    value = to_jsonb((
        select z.zone
        from generate_series(-12, 14) as o (hours)
        cross join
            lateral (
                select 'Etc/GMT' || case when o.hours > 0 then '-' || o.hours when o.hours < 0 then '+' || -o.hours else '' end
                    as zone
            ) as z
        where extract(hour from now() at time zone z.zone) = 12
        order by o.hours
        limit 1
    ))
where key = 'store_time_zone';

select is_empty($$select * from conductor.bridge_claim_outbound('bridge-a')$$, 'nothing due: no row');
select is(conductor.bridge_next_due_at(), null, 'nothing queued: bridge_next_due_at is null');

select public.queue_sms('+16195550201', 'marketing first in time', 'marketing') as marketing \gset
select public.queue_sms('+16195550202', 'a reply') as reply \gset
select conductor.queue_compliance_reply('+16195550203', 'help', null, 'a compliance reply') as system \gset
select public.queue_sms('+16195550204', 'later') as later \gset
update public.messages set next_attempt_at = now() + interval '10 minutes'
where id = :later;

select results_eq(
    $$select message_id, phone_number, content, attempt from conductor.bridge_claim_outbound('bridge-a')$$,
    format($$values (%s::bigint, '+16195550203'::text, 'a compliance reply'::text, 1)$$, :system),
    'system messages are claimed first, with the number, the text and attempt 1'
);
select is(
    (
        select status from public.messages
        where id = :system
    ), 'sending', 'the claimed message is sending'
);
select is(
    (
        select claimed_by from public.messages
        where id = :system
    ), 'bridge-a', 'claimed_by names the bridge'
);
select is(
    (
        select lease_expires_at - claimed_at from public.messages
        where id = :system
    ), interval '300 seconds', 'the lease lasts send_lease_seconds'
);
select is(
    (
        select message_id from conductor.bridge_claim_outbound('bridge-b')
    ), :reply::bigint, 'then replies'
);
select is(
    (
        select message_id from conductor.bridge_claim_outbound('bridge-a')
    ), :marketing::bigint, 'then marketing'
);
select is_empty(
    $$select * from conductor.bridge_claim_outbound('bridge-a')$$,
    'a message not yet due is not claimed'
);
select is(
    conductor.bridge_next_due_at(), (
        select next_attempt_at from public.messages
        where id = :later
    ),
    'bridge_next_due_at says when it becomes due'
);
select is(
    (
        select count(*)::integer from public.messages
        where status = 'sending'
    ), 3, 'each claim took exactly one message'
);

-- A number that opts out while its message waits (the opt-out trigger is bypassed here to
-- stand for a race): the claim cancels the message instead of sending it.
alter table conductor.opt_outs disable trigger _500_cancel_queued;
update public.messages set next_attempt_at = now()
where id = :later;
insert into conductor.opt_outs (phone_number) values ('+16195550204');
alter table conductor.opt_outs enable trigger _500_cancel_queued;
select is_empty(
    $$select * from conductor.bridge_claim_outbound('bridge-a')$$,
    'a message to a number that opted out is not claimed'
);
select is(
    (
        select status from public.messages
        where id = :later
    ), 'cancelled', 'it is cancelled'
);
select is(conductor.bridge_next_due_at(), null, 'and nothing is left to wait for');

select throws_ok(
    $$select * from conductor.bridge_claim_outbound('')$$, '22023', null, 'a bridge id is required'
);
select throws_ok(
    format($$select conductor.bridge_mark_sent('bridge-b', %s, 1, 1::smallint)$$, :system),
    '55000', null, 'a bridge cannot report a message another bridge claimed'
);
select throws_ok(
    $$select conductor.bridge_mark_sent('bridge-a', -1, 1, 1::smallint)$$,
    'P0002', null, 'reporting an unknown message is an error'
);

select * from finish();
rollback;
