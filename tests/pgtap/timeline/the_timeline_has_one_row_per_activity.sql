-- public.customer_activity_timeline holds one row per purchase, refund, SMS in or out and lead
-- event, with metadata; walk-in sales are in no timeline; a number with no customer is keyed by
-- phone_number with customer_id null. It has the unique index a concurrent refresh needs and an
-- index by customer and time, and conductor.refresh_activity_timeline refreshes it.
begin;
select plan(19);

select has_materialized_view('public', 'customer_activity_timeline', 'the timeline is a materialized view');
select is(
    (
        select
            i.indisunique and not exists (
                select from pg_catalog.pg_attribute as a
                where
                    a.attrelid = i.indrelid and a.attnum = any(i.indkey) and not a.attnotnull
                    and a.attname not in ('source_table', 'source_id')
            ) and i.indexprs is null and i.indpred is null
        from pg_catalog.pg_index as i
        where i.indexrelid = 'public.customer_activity_timeline_source_idx'::regclass
    ),
    true, 'a unique index on plain columns (source_table, source_id)'
);
select is(
    pg_catalog.pg_get_indexdef('public.customer_activity_timeline_customer_idx'::regclass),
    'CREATE INDEX customer_activity_timeline_customer_idx ON public.customer_activity_timeline USING btree '
    || '(customer_id, occurred_at DESC)',
    'an index by customer and time, newest first'
);

insert into public.customers (member_id, name, phone) values ('TL-M1', 'Ada', '+16195550501');
insert into public.products (product_id, sku, name, category) values
('TL-P1', 'TL-SKU-1', 'Blue Dream 3.5g', 'Flower'),
('TL-P2', 'TL-SKU-2', 'Mango Gummies', 'Edibles');
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, payment_type, total_amount) values
('TL-T1', 'TL-M1', '2026-10-01 18:30+00', 'Downtown', 'Sam', 'cash', 53.00),
('TL-T2', null, '2026-10-02 18:30+00', 'Downtown', 'Sam', 'cash', 18.00),
('TL-T4', 'TL-M1', '2026-10-04 18:30+00', 'Uptown', 'Lee', 'card', 35.00);
insert into public.transactions (
    transaction_id, customer_id, date, shop_location, staff_name, transaction_type, refunded_transaction_id, total_amount
)
values ('TL-T3', 'TL-M1', '2026-10-03 18:30+00', 'Downtown', 'Sam', 'refund', 'TL-T1', -18.00);
insert into public.transaction_items (
    transaction_id, line_number, product_sku, product_name, category, quantity, unit_price, total_price
) values
('TL-T1', 1, 'TL-SKU-1', 'Blue Dream 3.5g', 'Flower', 1, 35.00, 35.00),
('TL-T1', 2, 'TL-SKU-2', 'Mango Gummies', 'Edibles', 1, 18.00, 18.00),
('TL-T2', 1, 'TL-SKU-2', 'Mango Gummies', 'Edibles', 1, 18.00, 18.00),
('TL-T3', 1, 'TL-SKU-2', 'Mango Gummies', 'Edibles', 1, 18.00, -18.00),
('TL-T4', 1, 'TL-SKU-1', 'Blue Dream 3.5g', 'Flower', 1, 35.00, 35.00);
update public.transactions set status = 'voided'
where transaction_id = 'TL-T4';
insert into public.messages (phone_number, content, timestamp, direction, status, message_kind) values
('+16195550501', 'do you have gummies?', '2026-10-05 17:00+00', 'inbound', 'unread', 'reply'),
('+16195550599', 'hello?', '2026-10-06 17:00+00', 'inbound', 'unread', 'reply');
insert into public.messages (phone_number, content, timestamp, direction, status, message_kind, in_reply_to)
select
    '+16195550501' as phone_number,
    'Yes, Mango Gummies are in stock' as content,
    '2026-10-05 17:05+00' as timestamp,
    'outbound' as direction,
    'queued' as status,
    'reply' as message_kind,
    m.id as in_reply_to
from public.messages as m
where m.content = 'do you have gummies?';
insert into public.leads (phone_number, last_message, source) values ('+16195550599', 'hello?', 'sms');

select ok(conductor.refresh_activity_timeline(), 'refresh_activity_timeline refreshes and says so');

select set_eq(
    $$select customer_id, phone_number, activity_type, source_table
      from public.customer_activity_timeline
      where customer_id = 'TL-M1' or phone_number in ('+16195550501', '+16195550599')$$,
    $$values ('TL-M1'::text, null::text, 'purchase'::text, 'transactions'::text),
             ('TL-M1', null, 'refund', 'transactions'),
             ('TL-M1', null, 'purchase', 'transactions'),
             ('TL-M1', '+16195550501', 'sms_inbound', 'messages'),
             ('TL-M1', '+16195550501', 'sms_outbound', 'messages'),
             (null, '+16195550599', 'sms_inbound', 'messages'),
             (null, '+16195550599', 'lead_created', 'lead_events')$$,
    'one row per activity: two purchases (one voided), a refund, SMS both ways, a prospect''s SMS and lead'
);
select is(
    (
        select count(*)::integer from public.customer_activity_timeline as a
        inner join public.transactions as t on a.source_table = 'transactions' and a.source_id = t.id
        where t.transaction_id = 'TL-T2'
    ),
    0, 'a walk-in sale is in no timeline'
);

select is(
    (
        select a.summary from public.customer_activity_timeline as a
        inner join public.transactions as t on a.source_table = 'transactions' and a.source_id = t.id
        where t.transaction_id = 'TL-T1'
    ),
    'Purchase $53.00 (2 items: Blue Dream 3.5g, Mango Gummies) at Downtown with Sam',
    'a purchase summary names the amount, items, location and budtender'
);
select is(
    (
        select a.metadata - 'items' from public.customer_activity_timeline as a
        inner join public.transactions as t on a.source_table = 'transactions' and a.source_id = t.id
        where t.transaction_id = 'TL-T1'
    ),
    '{"transaction_id": "TL-T1", "type": "sale", "status": "completed", "amount": 53.00, "tax": 0, '
    '"discounts": 0, "items_count": 2, "lines_count": 2, "location": "Downtown", "staff": "Sam", '
    '"payment_type": "cash"}'::jsonb,
    'purchase metadata: amount, items count, location, staff, type'
);
select is(
    (
        select jsonb_path_query_array(a.metadata, '$.items[*].product_name') from public.customer_activity_timeline as a
        inner join public.transactions as t on a.source_table = 'transactions' and a.source_id = t.id
        where t.transaction_id = 'TL-T1'
    ),
    '["Blue Dream 3.5g", "Mango Gummies"]'::jsonb,
    'purchase metadata lists the items in line order'
);
select results_eq(
    $$select a.activity_type, a.summary, a.metadata ->> 'refunded_transaction_id', a.occurred_at
      from public.customer_activity_timeline as a
      join public.transactions as t on a.source_table = 'transactions' and t.id = a.source_id
      where t.transaction_id = 'TL-T3'$$,
    $$values ('refund'::text, 'Refund $18.00 (1 item: Mango Gummies) at Downtown with Sam'::text, 'TL-T1'::text,
              '2026-10-03 18:30+00'::timestamptz)$$,
    'a refund is its own activity, linked to the sale'
);
select results_eq(
    $$select a.summary, a.metadata ->> 'status' from public.customer_activity_timeline as a
      join public.transactions as t on a.source_table = 'transactions' and t.id = a.source_id
      where t.transaction_id = 'TL-T4'$$,
    $$values ('Voided purchase $35.00 (1 item: Blue Dream 3.5g) at Uptown with Lee'::text, 'voided'::text)$$,
    'a voided sale is listed as voided'
);
select results_eq(
    $$select a.summary, a.metadata ->> 'status', a.metadata ->> 'kind', a.metadata ->> 'direction'
      from public.customer_activity_timeline as a
      where a.phone_number = '+16195550501' order by a.occurred_at$$,
    $$values ('Texted us: do you have gummies?'::text, 'unread'::text, 'reply'::text, 'inbound'::text),
             ('We texted (reply, queued): Yes, Mango Gummies are in stock', 'queued', 'reply', 'outbound')$$,
    'SMS rows carry status, kind and direction'
);
select is(
    (
        select a.metadata ->> 'in_reply_to' from public.customer_activity_timeline as a
        where a.activity_type = 'sms_outbound' and a.phone_number = '+16195550501'
    ),
    (
        select m.id::text from public.messages as m
        where m.content = 'do you have gummies?'
    ),
    'a reply points at the message it answers'
);

-- The prospect becomes a customer: after the next refresh the number's rows carry the customer.
insert into public.customers (member_id, name, phone) values ('TL-M2', 'Grace', '+16195550599');
select ok(conductor.refresh_activity_timeline(), 'a second refresh (concurrently) succeeds');
select set_eq(
    $$select activity_type from public.customer_activity_timeline where customer_id = 'TL-M2'$$,
    $$values ('sms_inbound'::text), ('lead_created'), ('lead_linked'), ('lead_status_changed')$$,
    'a number that became a customer''s: its SMS and lead events are the customer''s'
);

-- Deleting a message and refreshing removes its row.
delete from public.messages
where phone_number = '+16195550599';
select ok(conductor.refresh_activity_timeline(), 'refresh after a delete');
select is(
    (
        select count(*)::integer from public.customer_activity_timeline
        where source_table = 'messages' and phone_number = '+16195550599'
    ),
    0, 'a deleted message leaves the timeline at the next refresh'
);

select is(
    (
        select count(*)::integer from public.customer_activity_timeline
        where customer_id is null and phone_number is null
    ),
    0, 'every row has a customer or a phone number'
);
select is(
    (
        select count(*)::integer from public.customer_activity_timeline
        where source_table is null or source_id is null
    ),
    0, 'the unique key is never null'
);

select * from finish();
rollback;
