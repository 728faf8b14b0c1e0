-- At most marketing_cap_messages marketing messages per number within marketing_cap_days:
-- queued, sending, sent and unknown ones count; failed, cancelled, older ones and replies do
-- not. Over the cap a new marketing message is refused (P0001 naming phone_number).
begin;
select plan(9);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

update conductor.settings set value = '2'
where key = 'marketing_cap_messages';
update conductor.settings set value = '7'
where key = 'marketing_cap_days';
-- Marketing in these tests is never held back by quiet hours: the window is the whole day.
update conductor.settings set value = '"00:00"'
where key = 'quiet_hours_start';
update conductor.settings set value = '"23:59:59.999999"'
where key = 'quiet_hours_end';

insert into public.messages (phone_number, content, direction, status, message_kind, sent_at)
values ('+16195551101', 'last month''s sale', 'outbound', 'sent', 'marketing', now() - interval '8 days');

select lives_ok(
    $$select public.queue_sms('+16195551101', 'sale 1', 'marketing')$$, 'the first marketing message'
);
select lives_ok(
    $$select public.queue_sms('+16195551101', 'sale 2', 'marketing')$$,
    'the second (the one from 8 days ago is outside the window)'
);
select throws_ok(
    $$select public.queue_sms('+16195551101', 'sale 3', 'marketing')$$,
    'P0001',
    'frequency cap reached: phone_number +16195551101 already has 2 marketing messages within 7 days '
    || '(settings marketing_cap_messages, marketing_cap_days)',
    'the third within 7 days is refused, naming phone_number and the cap'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status, message_kind)
      values ('+16195551101', 'sale 3', 'outbound', 'queued', 'marketing')$$,
    'P0001', null, 'a plain insert is refused too'
);
select lives_ok(
    $$select public.queue_sms('+16195551101', 'your order is ready')$$,
    'replies are not capped'
);
select lives_ok(
    $$select public.queue_sms('+16195551102', 'sale 1', 'marketing')$$,
    'the cap is per number'
);

update public.messages set status = 'cancelled'
where content = 'sale 2' and phone_number = '+16195551101';
select lives_ok(
    $$select public.queue_sms('+16195551101', 'sale 2 again', 'marketing')$$,
    'a cancelled marketing message does not count'
);

-- Messages that were sent count: the bridge sends everything queued, then one more is tried.
do $$
declare
    v_id bigint;
begin
    loop
        select c.message_id into v_id from conductor.bridge_claim_outbound('bridge-a') as c;
        exit when v_id is null;
        perform conductor.bridge_mark_sent('bridge-a', v_id, 1, 1::smallint);
    end loop;
end
$$;
select is(
    (
        select count(*)::integer from public.messages
        where
            phone_number = '+16195551101' and message_kind = 'marketing' and status = 'sent'
            and sent_at > now() - interval '1 day'
    ), 2, 'two marketing messages were sent this week'
);
select throws_ok(
    $$select public.queue_sms('+16195551101', 'sale 4', 'marketing')$$,
    'P0001', null, 'sent and queued marketing messages count together'
);

select * from finish();
rollback;
