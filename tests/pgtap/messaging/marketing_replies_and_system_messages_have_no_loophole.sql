-- The two exceptions to the marketing rules exist for a reason and only for it. A marketing text
-- that answers the customer (in_reply_to) skips quiet hours and the frequency cap because the
-- customer just wrote: it must answer a text from the same number received within
-- reply_window_hours, and one text opens at most marketing_replies_per_inbound such answers.
-- message_kind system is the package's own compliance replies (registered in
-- conductor.compliance_replies): neither queue_sms nor a plain insert or update can make one.
begin;
select plan(13);

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
-- 03:00 at the store: marketing would wait for 08:00. Cap: one per week, already used.
update conductor.settings set value = to_jsonb(pg_temp.zone_at(3))
where key = 'store_time_zone';
update conductor.settings set value = '1'
where key = 'marketing_cap_messages';
insert into public.messages (phone_number, content, direction, status, message_kind)
values ('+16195552601', 'last week''s sale', 'outbound', 'sent', 'marketing');
insert into public.messages (id, phone_number, content, direction, timestamp) values
(9701, '+16195552601', 'any deals on vapes?', 'inbound', now() - interval '3 days'),
(9702, '+16195552601', 'what about edibles?', 'inbound', now() - interval '10 minutes'),
(9703, '+16195552602', 'hi', 'inbound', now());

select throws_like(
    $$select public.queue_sms('+16195552601', '20% off vapes', 'marketing', 9701)$$,
    'in_reply_to is too old: message 9701 from +16195552601 arrived at %',
    'a marketing text cannot answer a text from three days ago to skip the rules'
);
select lives_ok(
    $$select public.queue_sms('+16195552601', 'edibles: buy 2 get 1', 'marketing', 9702)$$,
    'it can answer a text from ten minutes ago'
);
select ok(
    (
        select next_attempt_at <= now() from public.messages
        where in_reply_to = 9702
    ),
    'that answer skips quiet hours and the frequency cap'
);
select throws_like(
    $$select public.queue_sms('+16195552601', 'and 10% off flower', 'marketing', 9702)$$,
    'reply limit reached: inbound message 9702 already has 1 marketing replies%',
    'one text opens one exempt marketing answer (setting marketing_replies_per_inbound)'
);
select throws_like(
    $$insert into public.messages (phone_number, content, direction, message_kind, in_reply_to)
      values ('+16195552601', 'more deals', 'outbound', 'marketing', 9702)$$,
    'reply limit reached:%',
    'a plain insert too'
);
select lives_ok(
    $$select public.queue_sms('+16195552601', 'about your question from Monday: yes, we have them', 'reply', 9701)$$,
    'a conversation reply may refer to an older text'
);
select throws_like(
    $$select public.queue_sms('+16195552601', 'hello', 'marketing', 9703)$$,
    'in_reply_to is not an inbound message from phone_number:%',
    'in_reply_to must be a text from the same number'
);
update conductor.settings set value = '96'
where key = 'reply_window_hours';
select lives_ok(
    $$select public.queue_sms('+16195552601', '20% off vapes', 'marketing', 9701)$$,
    'the window is the setting reply_window_hours'
);

-- system is reserved.
select throws_like(
    $$select public.queue_sms('+16195552603', 'You are unsubscribed', 'system')$$,
    'system kind reserved:%',
    'queue_sms refuses message_kind system'
);
set local role service_role;
select throws_like(
    $$insert into public.messages (phone_number, content, direction, status, message_kind)
      values ('+16195552603', 'urgent offer', 'outbound', 'queued', 'system')$$,
    'system kind reserved:%',
    'so does a plain insert by service_role'
);
select public.queue_sms('+16195552603', 'a reply') as reply \gset
select throws_like(
    format($$update public.messages set message_kind = 'system' where id = %s$$, :reply),
    'system kind reserved:%',
    'and turning a queued message into a system one'
);
reset role;
insert into conductor.opt_outs (phone_number, keyword) values ('+16195552604', 'STOP');
select throws_like(
    $$insert into public.messages (phone_number, content, direction, status, message_kind)
      values ('+16195552604', 'sneaky', 'outbound', 'queued', 'system')$$,
    'system kind reserved:%',
    'a system message cannot be used to reach an opted-out number'
);
select lives_ok(
    $$insert into public.messages (phone_number, content, direction, status, message_kind)
      values ('+16195552603', 'confirmation sent last year', 'outbound', 'sent', 'system')$$,
    'history (a system message already sent) can still be recorded'
);

select * from finish();
rollback;
