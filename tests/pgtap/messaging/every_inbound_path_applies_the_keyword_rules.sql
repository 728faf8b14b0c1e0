-- The consent keywords apply to every inbound row, however it is stored: a plain INSERT into
-- public.messages as service_role (n8n) or as the owner opts out with one confirmation, exactly as
-- bridge_store_inbound does, and the bridge path is not processed twice. A text received long ago
-- (imported history, stored late) still opts out, but gets no confirmation: 47 CFR 64.1200(a)(12)
-- allows one within five minutes (setting compliance_reply_window_minutes).
begin;
select plan(11);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

set local role service_role;
insert into public.messages (phone_number, content, direction, status)
values ('(619) 555-2301', 'STOP', 'inbound', 'unread');
reset role;

select is(
    (
        select keyword from conductor.opt_outs
        where phone_number = '+16195552301'
    ), 'STOP', 'a plain insert by service_role opts the number out'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195552301' and direction = 'outbound' and message_kind = 'system'
    ), 1, 'with one confirmation'
);
select is(
    (
        select status from public.messages
        where phone_number = '+16195552301' and direction = 'inbound'
    ), 'read', 'and the STOP text is marked read'
);

insert into public.messages (phone_number, content, direction) values ('+16195552302', 'Help', 'inbound');
select is(
    (
        select content from public.messages
        where phone_number = '+16195552302' and direction = 'outbound'
    ),
    (
        select value #>> '{}' from conductor.settings
        where key = 'help_text'
    ),
    'a plain insert by the owner gets the help text'
);

-- The bridge path: one confirmation, one consent event, not two.
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195552303', 'Unsubscribe', '2026-03-01 18:00:00+00', 1, 1::smallint
        )
    ), true, 'the bridge stores an UNSUBSCRIBE'
);
select results_eq(
    $$select
        (select count(*)::integer from conductor.consent_events where phone_number = '+16195552303'),
        (select count(*)::integer from public.messages where phone_number = '+16195552303' and direction = 'outbound')$$,
    $$values (1, 1)$$,
    'it is processed once: one consent event and one confirmation'
);
select is(
    (
        select count(*)::integer from public.leads
        where phone_number = '+16195552303'
    ), 0, 'a keyword text makes no lead'
);

-- Two STOPs in one statement: still one confirmation.
insert into public.messages (phone_number, content, direction) values
('+16195552304', 'STOP', 'inbound'),
('+16195552304', 'stop please', 'inbound');
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195552304' and direction = 'outbound'
    ), 1, 'two revocations in one statement queue one confirmation'
);

-- History: an old STOP opts out without a late confirmation, an old HELP gets no late answer.
insert into public.messages (phone_number, content, direction, status, timestamp) values
('+16195552305', 'STOP', 'inbound', 'read', now() - interval '3 days'),
('+16195552306', 'HELP', 'inbound', 'read', now() - interval '3 days');
select is(
    (
        select count(*)::integer from conductor.opt_outs
        where phone_number = '+16195552305'
    ), 1, 'an old STOP still opts the number out'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number in ('+16195552305', '+16195552306') and direction = 'outbound'
    ), 0, 'but no confirmation or help text goes out days later'
);
select is(
    (
        select confirmation_message_id from conductor.opt_outs
        where phone_number = '+16195552305'
    ), null, 'the opt-out has no confirmation'
);

select * from finish();
rollback;
