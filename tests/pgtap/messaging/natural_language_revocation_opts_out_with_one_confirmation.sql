-- A reply that uses one of the words of 47 CFR 64.1200(a)(10) inside a sentence ("stop texting me
-- please", "Please stop", "unsubscribe me") opts the number out, whoever stores the text: one
-- confirmation (natural_opt_out_confirmation_text, which lets the customer correct us), the
-- consent event says the phrase matched, marketing stops, and a second such text queues nothing.
begin;
select plan(12);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

insert into public.customers (member_id, phone) values ('M-NL-1', '+16195552101');
select public.queue_sms('+16195552101', 'weekend deal', 'marketing') as promo \gset

insert into public.messages (phone_number, content, direction) values
('+16195552101', 'stop texting me please', 'inbound'),
('+16195552102', 'Please stop', 'inbound'),
('+16195552103', 'unsubscribe me', 'inbound');

select set_eq(
    $$select phone_number from conductor.opt_outs$$,
    $$values ('+16195552101'), ('+16195552102'), ('+16195552103')$$,
    'each sentence opts its number out'
);
select set_eq(
    $$select phone_number, content, message_kind from public.messages where direction = 'outbound' and status = 'queued'$$,
    $$select p, s.value #>> '{}', 'system'::text
      from conductor.settings as s
      cross join (values ('+16195552101'), ('+16195552102'), ('+16195552103')) as v (p)
      where s.key = 'natural_opt_out_confirmation_text'$$,
    'each number gets exactly one confirmation, the natural-language one, and nothing else stays queued'
);
select ok(
    (
        select value #>> '{}' from conductor.settings
        where key = 'natural_opt_out_confirmation_text'
    ) like '%reply START%',
    'the confirmation tells how to correct a misread opt-out'
);
select results_eq(
    $$select status, error_code from public.messages where id = $$ || :promo,
    $$values ('cancelled'::text, 'opted_out'::text)$$,
    'the queued marketing is cancelled'
);
select results_eq(
    $$select event, keyword, detection from conductor.consent_events where phone_number = '+16195552101'$$,
    $$values ('opt_out'::text, 'stop texting'::text, 'phrase'::text)$$,
    'the consent event names the phrase that matched'
);
select is(
    (
        select status from public.messages
        where phone_number = '+16195552102' and direction = 'inbound'
    ), 'read', 'the text is answered: read'
);
select is(
    (
        select o.confirmation_message_id from conductor.opt_outs as o
        where o.phone_number = '+16195552103'
    ),
    (
        select m.id from public.messages as m
        where m.phone_number = '+16195552103' and m.direction = 'outbound'
    ),
    'the opt-out names its confirmation'
);

-- Again, and through the bridge: still one confirmation.
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'bridge-a', '+16195552101', 'I said STOP texting me', '2026-03-01 18:05:00+00', 1, 1::smallint
        )
    ), true, 'a second revocation is stored'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195552101' and direction = 'outbound' and message_kind = 'system'
    ), 1, 'and queues no second confirmation'
);
select throws_like(
    $$select public.queue_sms('+16195552101', 'hello again')$$, 'opted out:%',
    'nothing can be queued to the number'
);

-- The same words in a sentence that is no revocation change nothing.
insert into public.messages (phone_number, content, direction) values
('+16195552104', 'don''t stop sending me deals', 'inbound');
select is(
    (
        select count(*)::integer from conductor.consent_events
        where phone_number = '+16195552104'
    ), 0, '"don''t stop sending me deals" is no consent event'
);
select is(
    (
        select status from public.messages
        where phone_number = '+16195552104'
    ), 'unread', 'and waits to be read'
);

select * from finish();
rollback;
