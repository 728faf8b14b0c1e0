-- Customers who share a phone get one text per campaign (campaign_name, campaign_batch_id): the
-- row of the customer the phone belongs to (conductor.customer_for_phone, the latest visitor)
-- carries the personalisation; the other rows become skipped_duplicate_phone with duplicate_of
-- naming it and a reason, and so does a row of the campaign that becomes due later. Another
-- campaign, or another batch, is another text.
begin;
select plan(11);

-- Nobody has visited yet: the phone belongs to the newest customer row, Ben.
insert into public.customers (member_id, name, phone) values
('M-D-1', 'Ana', '+16195552401'),
('M-D-3', 'Cy', '+16195552401'),
('M-D-4', 'Dee', '+16195552402'),
('M-D-2', 'Ben', '+16195552401');
select is(conductor.customer_for_phone('+16195552401'), 'M-D-2', 'the shared phone belongs to Ben');

insert into public.campaign_messages (id, customer_id, phone_number, message_content, status)
values (7101, 'M-D-1', '+16195552401', 'Ana, 20% off', 'exported');
insert into public.scheduled_messages (
    id, customer_id, phone_number, message_content, scheduled_send_time, campaign_name, campaign_batch_id,
    campaign_message_id
) values
(9101, 'M-D-1', '+16195552401', 'Ana, 20% off', now() - interval '2 minutes', 'spring', 'b1', 7101),
(9102, 'M-D-2', '+16195552401', 'Ben, 20% off', now() - interval '1 minute', 'spring', 'b1', null),
(9103, 'M-D-4', '+16195552402', 'Dee, 20% off', now() - interval '1 minute', 'spring', 'b1', null),
(9104, 'M-D-3', '+16195552401', 'Cy, 20% off', now() + interval '1 hour', 'spring', 'b1', null),
(9105, 'M-D-1', '+16195552401', 'Ana, summer deal', now() - interval '1 minute', 'summer', 'b1', null);

select is(conductor.dispatch_campaigns(), 3, 'three texts: spring to each phone once, summer once');
select results_eq(
    $$select content from public.messages where phone_number = '+16195552401' and direction = 'outbound' order by id$$,
    $$values ('Ben, 20% off'::text), ('Ana, summer deal')$$,
    'the shared phone gets the spring campaign once, with the phone owner''s text, and the other campaign'
);
select results_eq(
    $$select status, message_id is not null, duplicate_of from public.scheduled_messages where id = 9102$$,
    $$values ('queued'::text, true, null::bigint)$$,
    'the carrying row is queued'
);
select results_eq(
    $$select status, message_id, duplicate_of from public.scheduled_messages where id = 9101$$,
    $$values ('skipped_duplicate_phone'::text, null::bigint, 9102::bigint)$$,
    'the other customer''s row is skipped_duplicate_phone and names the row that texts the phone'
);
select is(
    (
        select error_message from public.scheduled_messages
        where id = 9101
    ),
    'skipped_duplicate_phone: +16195552401 already gets campaign "spring" from scheduled message 9102 (customer '
    || 'M-D-2''s text)',
    'with the reason'
);
select results_eq(
    $$select status, delivery_status, conductor_message_id from public.campaign_messages where id = 7101$$,
    $$values ('exported'::text, 'skipped_duplicate_phone'::text, null::bigint)$$,
    'its campaign draft says so'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195552402'
    ), 1, 'a phone of its own gets its text'
);

-- A row of the same campaign that becomes due later is a duplicate too.
update public.scheduled_messages set scheduled_send_time = now() - interval '1 second'
where id = 9104;
select is(conductor.dispatch_campaigns(), 0, 'the later row queues nothing');
select results_eq(
    $$select status, duplicate_of from public.scheduled_messages where id = 9104$$,
    $$values ('skipped_duplicate_phone'::text, 9102::bigint)$$,
    'it is skipped_duplicate_phone as well'
);

-- Another batch of the campaign is another text.
insert into public.scheduled_messages (
    id, customer_id, phone_number, message_content, scheduled_send_time, campaign_name, campaign_batch_id
)
values (9106, 'M-D-4', '+16195552402', 'Dee, spring week 2', now() - interval '1 minute', 'spring', 'b2');
select is(conductor.dispatch_campaigns(), 1, 'another batch of the campaign is another text');

select * from finish();
rollback;
