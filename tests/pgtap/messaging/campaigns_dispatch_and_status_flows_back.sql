-- conductor.dispatch_campaigns (pg_cron, every minute) queues due scheduled_messages as marketing
-- messages and links them; the queue's rules decide: opted out or over the frequency cap ->
-- skipped with the reason, quiet hours -> queued for later, an unusable text -> failed. The
-- message's status then flows back to scheduled_messages and campaign_messages.
begin;
select plan(26);

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
update conductor.settings set value = '1'
where key = 'marketing_cap_messages';

insert into public.customers (member_id, name, phone, time_zone) values
('M-C-1', 'Ana', '+16195551201', null),
('M-C-2', 'Ben', '+16195551202', pg_temp.zone_at(3));
insert into conductor.opt_outs (phone_number, keyword) values ('+16195551203', 'STOP');
insert into public.messages (phone_number, content, direction, status, message_kind)
values ('+16195551204', 'earlier promo', 'outbound', 'queued', 'marketing');

insert into public.campaign_messages (id, customer_id, phone_number, message_content, status)
values (7001, 'M-C-1', '+16195551201', 'We miss you, Ana', 'exported');
insert into public.scheduled_messages (
    id, customer_id, phone_number, message_content, scheduled_send_time, campaign_name, campaign_message_id
) values
(8001, 'M-C-1', '+16195551201', 'We miss you, Ana', now() - interval '1 minute', 'win-back', 7001),
(8002, 'M-C-2', '+16195551202', 'We miss you, Ben', now() - interval '1 minute', 'win-back', null),
(8003, null, '+16195551203', 'We miss you', now() - interval '1 minute', 'win-back', null),
(8004, null, '+16195551204', 'We miss you', now() - interval '1 minute', 'win-back', null),
(8005, null, '+16195551205', '   ', now() - interval '1 minute', 'win-back', null),
(8006, null, '+16195551206', 'Next week', now() + interval '1 day', 'win-back', null);

select is(conductor.dispatch_campaigns(), 2, 'two due messages are queued');

select results_eq(
    $$select s.status, m.status, m.message_kind, m.content, m.customer_id, s.delivery_status
      from public.scheduled_messages as s join public.messages as m on m.id = s.message_id
      where s.id = 8001$$,
    $$values ('queued'::text, 'queued'::text, 'marketing'::text, 'We miss you, Ana'::text, 'M-C-1'::text, 'queued'::text)$$,
    'a due row becomes a queued marketing message, linked by message_id'
);
select is(
    (
        select conductor_message_id from public.campaign_messages
        where id = 7001
    ),
    (
        select message_id from public.scheduled_messages
        where id = 8001
    ),
    'the campaign draft it came from is linked to the message'
);
select is(
    (
        select m.next_attempt_at from public.scheduled_messages as s
        inner join public.messages as m on s.message_id = m.id
        where s.id = 8002
    ),
    (date_trunc('day', now() at time zone pg_temp.zone_at(3)) + interval '8 hours') at time zone pg_temp.zone_at(3),
    'a customer in quiet hours is queued for 08:00 in the customer''s zone'
);
select results_eq(
    $$select status, message_id, error_message from public.scheduled_messages where id = 8003$$,
    $$values ('skipped'::text, null::bigint,
              'opted out: phone_number +16195551203 has opted out of SMS; nothing can be queued to it'::text)$$,
    'an opted-out number is skipped with the reason'
);
select results_eq(
    $$select status, error_message like '%marketing_cap_messages%' from public.scheduled_messages where id = 8004$$,
    $$values ('skipped'::text, true)$$,
    'a number over the frequency cap is skipped with the reason'
);
select results_eq(
    $$select status, error_message like 'content is%' from public.scheduled_messages where id = 8005$$,
    $$values ('failed'::text, true)$$,
    'an unusable text fails that row only'
);
select is(
    (
        select status from public.scheduled_messages
        where id = 8006
    ), 'scheduled', 'a row not yet due waits'
);
select is(conductor.dispatch_campaigns(), 0, 'running again queues nothing twice');
select is(
    (
        select count(*)::integer from public.messages
        where content like 'We miss you%'
    ), 2, 'two messages in all'
);

-- Status flows back: sent.
select message_id as ana from public.scheduled_messages
where id = 8001 \gset
update public.messages set next_attempt_at = now() - interval '1 hour'
where content = 'earlier promo';
update public.messages set status = 'cancelled'
where content = 'earlier promo';
select is(
    (
        select message_id from conductor.bridge_claim_outbound('bridge-a')
    ), :ana::bigint, 'the bridge claims Ana''s message'
);
select results_eq(
    $$select status, delivery_status from public.scheduled_messages where id = 8001$$,
    $$values ('queued'::text, 'sending'::text)$$,
    'while it is sent, delivery_status says sending'
);
select lives_ok(
    format($$select conductor.bridge_mark_sent('bridge-a', %s, 42, 1::smallint)$$, :ana),
    'the modem sends it'
);
select results_eq(
    $$select s.status, s.delivery_status, s.actual_send_time = m.sent_at
      from public.scheduled_messages as s join public.messages as m on m.id = s.message_id where s.id = 8001$$,
    $$values ('sent'::text, 'sent'::text, true)$$,
    'scheduled_messages follows: sent, delivery_status sent, actual_send_time'
);
select results_eq(
    $$select status, delivery_status from public.campaign_messages where id = 7001$$,
    $$values ('sent'::text, 'sent'::text)$$,
    'campaign_messages follows'
);

-- Failed and outcome_unknown.
insert into public.scheduled_messages (id, phone_number, message_content, scheduled_send_time)
values
(8007, '+16195551207', 'promo a', now() - interval '1 minute'),
(8008, '+16195551208', 'promo b', now() - interval '1 minute'),
(8009, '+16195551209', 'promo c', now() - interval '1 minute');
select is(conductor.dispatch_campaigns(), 3, 'three more are queued');
select message_id as a from public.scheduled_messages
where id = 8007 \gset
select message_id as b from public.scheduled_messages
where id = 8008 \gset
select message_id as c from public.scheduled_messages
where id = 8009 \gset
select is(
    (
        select count(*)::integer from (
            select c.message_id from conductor.bridge_claim_outbound('bridge-a') as c
            union all
            select c.message_id from conductor.bridge_claim_outbound('bridge-a') as c
        ) as claimed
    ), 2, 'two are claimed'
);
select is(conductor.bridge_mark_failed('bridge-a', :a, 'CMS:304', 'invalid PDU'), 'failed', 'one fails');
select lives_ok(
    format($$select conductor.bridge_mark_unknown('bridge-a', %s, 'no answer')$$, :b),
    'the other gets no answer'
);
select results_eq(
    $$select id, status, delivery_status from public.scheduled_messages where id in (8007, 8008) order by id$$,
    $$values (8007::bigint, 'failed'::text, 'failed'::text), (8008, 'outcome_unknown', 'outcome_unknown')$$,
    'failed and outcome_unknown flow back'
);
select is(
    (
        select error_message from public.scheduled_messages
        where id = 8007
    ), 'invalid PDU - permanent error', 'with the error'
);

-- Opting out cancels the queued message, and the scheduled row says so.
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195551209', 'STOP', now(), 1, 1::smallint
        )
    ), true, 'the third number texts STOP'
);
select results_eq(
    $$select status, delivery_status from public.scheduled_messages where id = 8009$$,
    $$values ('cancelled'::text, 'cancelled'::text)$$,
    'its queued campaign message is cancelled, and so is the scheduled row'
);
select is(
    (
        select status from public.messages
        where id = :c
    ), 'cancelled', 'the message itself is cancelled'
);

-- Cancelling a dispatched row stops its message while it is still queued.
select results_eq(
    $$select s.status, m.status from public.scheduled_messages as s join public.messages as m on m.id = s.message_id
      where s.id = 8002$$,
    $$values ('queued'::text, 'queued'::text)$$,
    'Ben''s message still waits for his morning'
);
update public.scheduled_messages set status = 'cancelled'
where id = 8002;
select results_eq(
    $$select s.status, s.delivery_status, m.status, m.error_code
      from public.scheduled_messages as s join public.messages as m on m.id = s.message_id where s.id = 8002$$,
    $$values ('cancelled'::text, 'cancelled'::text, 'cancelled'::text, 'campaign_cancelled'::text)$$,
    'cancelling the scheduled row cancels its queued message'
);

select * from finish();
rollback;
