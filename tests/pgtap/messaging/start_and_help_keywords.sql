-- START, UNSTOP and YES opt an opted-out number back in with a confirmation (from anyone else
-- "YES" is an ordinary reply); HELP and INFO get the program's help text, once per request,
-- also from an opted-out number (carriers expect HELP answered whatever the subscription state):
-- the bridge sends it as a system reply, while nothing else reaches the number.
begin;
select plan(22);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550801', 'Help', '2026-03-01 18:00:00+00', 1, 1::smallint
        )
    ), true, 'HELP is stored'
);
select results_eq(
    $$select content, message_kind, status from public.messages
      where phone_number = '+16195550801' and direction = 'outbound'$$,
    $$select value #>> '{}', 'system'::text, 'queued'::text from conductor.settings where key = 'help_text'$$,
    'HELP queues the help_text setting as a system message'
);
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550802', 'info?', '2026-03-01 18:00:00+00', 2, 1::smallint
        )
    ), true, 'INFO is stored'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195550802' and direction = 'outbound'
    ), 1, 'INFO gets the help text too'
);
select is(
    (
        select event from conductor.consent_events
        where phone_number = '+16195550802'
    ), 'help', 'the help request is in the consent history'
);

-- Opted out: HELP gets nothing, START opts back in.
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550803', 'STOP', '2026-03-01 18:00:00+00', 3, 1::smallint
        )
    ), true, 'a number opts out'
);
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550803', 'HELP', '2026-03-01 18:01:00+00', 4, 1::smallint
        )
    ), true, 'then asks for help'
);
select results_eq(
    $$select content, message_kind from public.messages
      where phone_number = '+16195550803' and direction = 'outbound' order by id$$,
    $$select value #>> '{}', 'system'::text from conductor.settings
      where key in ('opt_out_confirmation_text', 'help_text') order by key desc$$,
    'an opted-out number that asks for HELP gets the help text after its opt-out confirmation'
);
select is(
    (
        select m.in_reply_to from public.messages as m
        where m.phone_number = '+16195550803' and m.direction = 'outbound' and m.content like 'MoTa dispensary%'
    ),
    (
        select m.id from public.messages as m
        where m.phone_number = '+16195550803' and m.direction = 'inbound' and m.content = 'HELP'
    ),
    'the help text answers that HELP request'
);
select throws_ok(
    $$select public.queue_sms('+16195550803', 'a deal', 'marketing')$$, 'P0001', null,
    'nothing else can be queued to the opted-out number'
);
create temporary table claimed_803 on commit drop as
select * from conductor.bridge_claim_outbound('bridge-a');
do $$
begin
    for i in 1..10 loop
        insert into claimed_803 select * from conductor.bridge_claim_outbound('bridge-a');
    end loop;
end
$$;
select is(
    (
        select count(*)::integer from claimed_803
        where phone_number = '+16195550803'
    ), 2,
    'the bridge sends both replies to the opted-out number'
);
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550803', 'Start', '2026-03-01 18:02:00+00', 5, 1::smallint
        )
    ), true, 'then sends START'
);
select is(
    (
        select count(*)::integer from conductor.opt_outs
        where phone_number = '+16195550803'
    ), 0, 'START opts the number back in'
);
select is(
    (
        select content from public.messages
        where phone_number = '+16195550803' and direction = 'outbound'
        order by id desc limit 1
    ),
    (
        select value #>> '{}' from conductor.settings
        where key = 'opt_in_confirmation_text'
    ),
    'with the opt_in_confirmation_text'
);
select lives_ok(
    $$select public.queue_sms('+16195550803', 'welcome back')$$,
    'messages can be queued to the number again'
);

select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550804', 'STOP', '2026-03-01 18:00:00+00', 6, 1::smallint
        )
    ) and (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550804', 'unstop', '2026-03-01 18:03:00+00', 7, 1::smallint
        )
    ), true, 'STOP then UNSTOP'
);
select is(
    (
        select count(*)::integer from conductor.opt_outs
        where phone_number = '+16195550804'
    ), 0, 'UNSTOP opts back in'
);

-- "YES" from a number that never opted out is an answer to an offer, not a keyword.
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550805', 'YES!', '2026-03-01 18:00:00+00', 8, 1::smallint
        )
    ), true, 'YES from a number that never opted out is stored'
);
select results_eq(
    $$select m.status, (select count(*) from conductor.consent_events as e where e.phone_number = m.phone_number)
      from public.messages as m where m.phone_number = '+16195550805'$$,
    $$values ('unread'::text, 0::bigint)$$,
    'as an ordinary unread reply, not a keyword'
);

-- An opt-out a person entered (no confirmation text) is an opt-out like any other: START from
-- that number opts it back in.
insert into conductor.opt_outs (phone_number, keyword) values ('+16195550809', 'operator');
select ok(conductor.is_opted_out('+16195550809'), 'an opt-out without a confirmation counts');
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550809', 'START', '2026-03-01 19:00:00+00', 90, 1::smallint
        )
    ), true, 'START from that number is stored'
);
select is_empty(
    $$select 1 from conductor.opt_outs where phone_number = '+16195550809'$$,
    'and opts it back in'
);

select * from finish();
rollback;
