-- Marketing goes out only inside the sending window (quiet_hours_start to quiet_hours_end,
-- 08:00-21:00) at the recipient's local time: customers.time_zone when set, else the store's.
-- A message queued outside it gets next_attempt_at at the next window; one that became due
-- outside it (the bridge was down) is deferred at claim time. Replies are not marketing.
begin;
select plan(16);

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

-- The window itself, on fixed instants (Los Angeles; 2026-03-08 is the spring DST change).
select is(
    conductor.marketing_send_time('2026-03-10 07:59:00-07', 'America/Los_Angeles'),
    '2026-03-10 08:00:00-07'::timestamptz, 'before 08:00 local: wait for 08:00'
);
select is(
    conductor.marketing_send_time('2026-03-10 12:30:00-07', 'America/Los_Angeles'),
    '2026-03-10 12:30:00-07'::timestamptz, 'inside the window: at once'
);
select is(
    conductor.marketing_send_time('2026-03-10 21:00:00-07', 'America/Los_Angeles'),
    '2026-03-11 08:00:00-07'::timestamptz, 'at 21:00 local: the next morning'
);
select is(
    conductor.marketing_send_time('2026-03-08 01:30:00-08', 'America/Los_Angeles'),
    '2026-03-08 08:00:00-07'::timestamptz, 'across a DST change: 08:00 local time that day'
);
select is(
    conductor.marketing_send_time('2026-03-10 23:30:00+00', 'America/New_York'),
    '2026-03-10 23:30:00+00'::timestamptz, '23:30 UTC is 19:30 in New York: inside'
);
select is(
    conductor.marketing_send_time('2026-03-10 23:30:00+00', 'Europe/Berlin'),
    '2026-03-11 08:00:00+01'::timestamptz, 'but 00:30 in Berlin: the next morning there'
);

-- The store's clock reads noon; one customer lives where it is 03:00.
update conductor.settings set value = to_jsonb(pg_temp.zone_at(12))
where key = 'store_time_zone';
insert into public.customers (member_id, phone, time_zone) values
('M-QH-NIGHT', '+16195551001', pg_temp.zone_at(3)),
('M-QH-STORE', '+16195551002', null),
('M-QH-BAD', '+16195551003', 'Mars/Olympus_Mons');

select public.queue_sms('+16195551001', 'night owl deal', 'marketing') as night \gset
select public.queue_sms('+16195551002', 'store zone deal', 'marketing') as day \gset
select public.queue_sms('+16195551003', 'bad zone deal', 'marketing') as bad \gset
select public.queue_sms('+16195551001', 'your order is ready') as reply \gset

select is(
    (
        select next_attempt_at from public.messages
        where id = :night
    ),
    (date_trunc('day', now() at time zone pg_temp.zone_at(3)) + interval '8 hours') at time zone pg_temp.zone_at(3),
    'marketing to a customer at 03:00 local waits for 08:00 in the customer''s time zone'
);
select is(
    (
        select next_attempt_at from public.messages
        where id = :night
    ) - now(),
    interval '5 hours' - (now() - date_trunc('hour', now())),
    'which is five hours away (less the minutes past the hour)'
);
select is(
    (
        select next_attempt_at from public.messages
        where id = :day
    ), now(), 'a customer without a time zone follows the store''s (noon: at once)'
);
select is(
    (
        select next_attempt_at from public.messages
        where id = :bad
    ), now(), 'an unknown customer time zone falls back to the store''s'
);
select is(
    (
        select next_attempt_at from public.messages
        where id = :reply
    ), now(), 'a reply is not marketing: at once, whatever the hour'
);
select is(
    (
        select message_id from conductor.bridge_claim_outbound('bridge-a')
    ), :reply::bigint, 'the bridge takes the reply'
);

insert into public.messages (phone_number, content, direction, status, in_reply_to)
values ('+16195551001', 'what deals today?', 'inbound', 'unread', null)
returning id as question \gset
select public.queue_sms('+16195551001', 'today: 20% off vapes', 'marketing', :question) as answer \gset
select is(
    (
        select next_attempt_at from public.messages
        where id = :answer
    ), now(), 'marketing text that answers an inbound message (in_reply_to) is a reply'
);

-- Due, but the window has closed since (the bridge was down): deferred at claim time.
update public.messages set next_attempt_at = now() - interval '6 hours'
where id = :night;
select is(
    (
        select count(*)::integer from conductor.bridge_claim_outbound('bridge-a') as c
        where c.message_id = :night
    ), 0, 'a marketing message due outside its recipient''s window is not claimed'
);
select is(
    (
        select next_attempt_at from public.messages
        where id = :night
    ),
    (date_trunc('day', now() at time zone pg_temp.zone_at(3)) + interval '8 hours') at time zone pg_temp.zone_at(3),
    'it is moved to the start of the next window'
);
select is(
    (
        select status from public.messages
        where id = :night
    ), 'queued', 'and stays queued'
);

select * from finish();
rollback;
