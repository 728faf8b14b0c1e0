-- Every way back into queued passes the rules a new message passes. A failed marketing text does
-- not count toward the frequency cap, so setting it back to queued (the documented retry, by plain
-- SQL as service_role here) checks the cap again: it cannot make a third live marketing text
-- against a cap of two. The opt-out, the marketing suspension of a number under review and quiet
-- hours apply too; the bridge's own retry of a message a rule now refuses fails it with the reason
-- instead of failing the bridge's report.
begin;
select plan(9);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

create function pg_temp.zone_at(p_hour integer) returns text
language sql as $$
    select z.zone
    from generate_series(-12, 14) as o (hours)
    cross join lateral (
        select 'Etc/GMT' || case when o.hours > 0 then '-' || o.hours when o.hours < 0 then '+' || -o.hours else '' end
        as zone
    ) as z
    where extract(hour from now() at time zone z.zone) = p_hour
    order by o.hours
    limit 1
$$;
update conductor.settings set value = to_jsonb(pg_temp.zone_at(12))
where key = 'store_time_zone';

-- Cap 2 per 7 days: one sent, one failed, one queued.
insert into public.messages (id, phone_number, content, direction, status, message_kind) values
(9601, '+16195552501', 'sale 1', 'outbound', 'sent', 'marketing'),
(9602, '+16195552501', 'sale 2', 'outbound', 'failed', 'marketing');
select public.queue_sms('+16195552501', 'sale 3', 'marketing') as third \gset

set local role service_role;
select throws_like(
    $$update public.messages set status = 'queued' where id = 9602$$,
    'frequency cap reached: phone_number +16195552501 already has 2 marketing messages within 7 days%',
    'requeueing a failed marketing text checks the cap again'
);
reset role;
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195552501' and status in ('queued', 'sending', 'sent', 'outcome_unknown')
    ), 2, 'the number keeps two live marketing texts'
);
update public.messages set status = 'cancelled'
where id = :third;
select lives_ok(
    $$update public.messages set status = 'queued' where id = 9602$$,
    'under the cap the retry is accepted'
);

-- Quiet hours: a retry at 03:00 local waits for 08:00.
update conductor.settings set value = to_jsonb(pg_temp.zone_at(3))
where key = 'store_time_zone';
insert into public.messages (id, phone_number, content, direction, status, message_kind)
values (9603, '+16195552502', 'night sale', 'outbound', 'failed', 'marketing');
update public.messages set status = 'queued', next_attempt_at = now()
where id = 9603;
select is(
    (
        select next_attempt_at from public.messages
        where id = 9603
    ),
    (date_trunc('day', now() at time zone pg_temp.zone_at(3)) + interval '8 hours') at time zone pg_temp.zone_at(3),
    'a requeued marketing text waits for the sending window'
);
update conductor.settings set value = to_jsonb(pg_temp.zone_at(12))
where key = 'store_time_zone';

-- Opted out, or under review: refused.
insert into public.messages (id, phone_number, content, direction, status, message_kind) values
(9604, '+16195552503', 'old reply', 'outbound', 'failed', 'reply'),
(9605, '+16195552504', 'old sale', 'outbound', 'failed', 'marketing');
insert into conductor.opt_outs (phone_number, keyword) values ('+16195552503', 'STOP');
insert into public.messages (phone_number, content, direction) values ('+16195552504', 'leave me alone', 'inbound');
select throws_like(
    $$update public.messages set status = 'queued' where id = 9604$$, 'opted out:%',
    'a retry to an opted-out number is refused'
);
select throws_like(
    $$update public.messages set status = 'queued' where id = 9605$$, 'marketing suspended:%',
    'a marketing retry to a number under review is refused'
);

-- The bridge's retry of a message whose number was flagged while it was being sent.
select public.queue_sms('+16195552505', 'lunch deal', 'marketing') as lunch \gset
select is(
    (select message_id from conductor.bridge_claim_outbound('bridge-a')), :lunch::bigint, 'the bridge claims it'
);
insert into public.messages (phone_number, content, direction) values ('+16195552505', 'no more texts', 'inbound');
select lives_ok(
    format($$select conductor.bridge_mark_failed('bridge-a', %s, 'CMS:999', 'network busy')$$, :lunch),
    'the bridge reports a transient failure without an error'
);
select results_eq(
    format($$select status, error_message like '%%not retried: marketing suspended:%%' from public.messages where id = %s$$, :lunch),
    $$values ('failed'::text, true)$$,
    'the message is failed with the reason instead of retried'
);

select * from finish();
rollback;
