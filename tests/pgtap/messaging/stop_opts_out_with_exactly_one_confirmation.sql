-- STOP, END, CANCEL, UNSUBSCRIBE, QUIT, STOPALL, REVOKE and OPTOUT (any case, with spaces and
-- punctuation around them) opt the number out inside bridge_store_inbound: an opt_outs row, a
-- consent event and exactly one confirmation, even when STOP arrives again; everything still
-- queued to the number is cancelled, and only the confirmation is sent.
begin;
select plan(20);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

create temporary table stops (phone_number text, content text) on commit drop;
insert into stops values
('+16195550701', 'STOP'),
('+16195550702', ' stop. '),
('+16195550703', 'End'),
('+16195550704', 'cancel!'),
('+16195550705', 'Unsubscribe'),
('+16195550706', 'QUIT'),
('+16195550707', 'Stop all'),
('+16195550708', 'revoke'),
('+16195550709', 'opt-out'),
('+16195550710', '"Stop"');

select is(
    (
        select count(*)::integer
        from stops as s
        cross join
            lateral conductor.bridge_store_inbound(
                'bridge-a', s.phone_number, s.content, '2026-03-01 18:00:00+00', 1, 1::smallint
            ) as r
        where r.is_new
    ), 10, 'ten opt-out texts are stored'
);
select set_eq(
    $$select phone_number from conductor.opt_outs$$,
    $$select phone_number from stops$$,
    'every keyword and spelling opts the number out'
);
select set_eq(
    $$select phone_number, count(*) from public.messages
      where direction = 'outbound' and message_kind = 'system' and status = 'queued'
      group by phone_number$$,
    $$select phone_number, 1::bigint from stops$$,
    'each number gets exactly one confirmation'
);
select is(
    (
        select content from public.messages
        where phone_number = '+16195550701' and direction = 'outbound'
    ),
    (
        select value #>> '{}' from conductor.settings
        where key = 'opt_out_confirmation_text'
    ),
    'the confirmation is the opt_out_confirmation_text setting'
);
select is(
    (
        select o.confirmation_message_id from conductor.opt_outs as o
        where o.phone_number = '+16195550701'
    ),
    (
        select id from public.messages
        where phone_number = '+16195550701' and direction = 'outbound'
    ),
    'the opt-out names its confirmation'
);
select results_eq(
    $$select status, keyword from public.messages as m
      join conductor.opt_outs as o on o.source_message_id = m.id
      where m.phone_number = '+16195550707'$$,
    $$values ('read'::text, 'STOPALL'::text)$$,
    'the STOP text is answered and marked read; the keyword is recorded'
);
select is(
    (
        select in_reply_to from public.messages
        where phone_number = '+16195550702' and direction = 'outbound'
    ),
    (
        select id from public.messages
        where phone_number = '+16195550702' and direction = 'inbound'
    ),
    'the confirmation answers the STOP message'
);

-- STOP again, as a new SMS and as the same SMS stored twice.
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550701', 'STOP', '2026-03-01 18:05:00+00', 2, 1::smallint
        )
    ), true, 'a second STOP is stored'
);
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550701', 'STOP', '2026-03-01 18:05:00+00', 2, 1::smallint
        )
    ), false, 'the same STOP stored twice is one message'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195550701' and direction = 'outbound'
    ), 1, 'repeated STOP still means exactly one confirmation'
);
select is(
    (
        select count(*)::integer from conductor.consent_events
        where phone_number = '+16195550701' and event = 'opt_out'
    ), 2, 'both STOP messages are in the consent history'
);

-- Queued messages are cancelled when their number opts out.
insert into public.customers (member_id, phone) values ('M-STOP-1', '+16195550720');
select public.queue_sms('+16195550720', 'your order is ready') as reply \gset
select public.queue_sms('+16195550720', 'big sale', 'marketing') as promo \gset
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550720', 'stop', '2026-03-01 18:10:00+00', 3, 1::smallint
        )
    ), true, 'a customer with queued messages sends stop'
);
select set_eq(
    format($$select status from public.messages where id in (%s, %s)$$, :reply, :promo),
    $$values ('cancelled')$$,
    'what was queued to the number is cancelled'
);
select is(
    (
        select error_code from public.messages
        where id = :promo
    ), 'opted_out', 'with the reason'
);

-- Only the confirmation goes out.
create temporary table claimed on commit drop as
select * from conductor.bridge_claim_outbound('bridge-a');
do $$
begin
    for i in 1..20 loop
        insert into claimed select * from conductor.bridge_claim_outbound('bridge-a');
    end loop;
end
$$;
select set_eq(
    $$select content from claimed$$,
    $$select value #>> '{}' from conductor.settings where key = 'opt_out_confirmation_text'$$,
    'the bridge sends the confirmations and nothing else'
);
select is((select count(*)::integer from claimed), 11, 'one confirmation per opted-out number');

-- An operator's opt-out (no keyword) also cancels what is queued.
select public.queue_sms('+16195550730', 'hello') as queued \gset
insert into conductor.opt_outs (phone_number) values ('(619) 555-0730');
select is(
    (
        select status from public.messages
        where id = :queued
    ), 'cancelled', 'an opt-out entered by an operator cancels the queue too'
);

-- A sentence that merely contains the word is not a keyword.
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195550740', 'please don''t stop the deals', '2026-03-01 18:00:00+00', 4, 1::smallint
        )
    ), true, 'a longer text is stored'
);
select is(
    (
        select count(*)::integer from conductor.opt_outs
        where phone_number = '+16195550740'
    ), 0, 'and is not an opt-out'
);
select is(
    (
        select status from public.messages
        where phone_number = '+16195550740'
    ), 'unread', 'it waits for a person (or the assistant) to read it'
);

select * from finish();
rollback;
