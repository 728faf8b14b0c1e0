-- public.customer_activity_timeline: every customer activity, one row each, materialized from
-- conductor.activity_timeline_rows (sql/functions/timeline/activity_rows.sql, which documents
-- the sources and keys). Refreshed concurrently by the pg_cron job
-- conductor_refresh_activity_timeline; public.get_customer_timeline adds what changed since.
create materialized view public.customer_activity_timeline as
select
    r.customer_id,
    r.phone_number,
    r.activity_type,
    r.occurred_at,
    r.source_table,
    r.source_id,
    r.summary,
    r.metadata,
    r.recorded_at
from conductor.activity_timeline_rows(null, null, null) as r;

-- The unique index REFRESH ... CONCURRENTLY needs: plain columns, never null.
create unique index customer_activity_timeline_source_idx
on public.customer_activity_timeline (source_table, source_id);
create index customer_activity_timeline_customer_idx
on public.customer_activity_timeline (customer_id, occurred_at desc);
create index customer_activity_timeline_phone_idx
on public.customer_activity_timeline (phone_number, occurred_at desc);

comment on materialized view public.customer_activity_timeline is
'Customer activity, one row per purchase, refund, SMS (in and out) and lead event, refreshed by the pg_cron '
'job conductor_refresh_activity_timeline. Rows of a number with no customer have customer_id null and are '
'found by phone_number. For one customer up to the minute, call get_customer_timeline(phone_number).';
comment on column public.customer_activity_timeline.customer_id is
'Customer (customers.member_id): the transaction''s member; for an SMS messages.customer_id, else the '
'customer with that phone at refresh time; for a lead event the lead''s customer. Null when the number '
'belongs to no customer.';
comment on column public.customer_activity_timeline.phone_number is
'The number (E.164) of an SMS or lead event; null for purchases and refunds (keyed by customer_id).';
comment on column public.customer_activity_timeline.activity_type is
'purchase, refund, sms_inbound, sms_outbound, lead_created, lead_linked, lead_unlinked or lead_status_changed.';
comment on column public.customer_activity_timeline.occurred_at is
'When it happened: transaction date, message time (an outbound SMS: when sent), event time.';
comment on column public.customer_activity_timeline.source_table is 'Where the row comes from: transactions, messages or lead_events.';
comment on column public.customer_activity_timeline.source_id is
'id of the source row (transactions.id, messages.id, conductor.lead_events.id); unique with source_table.';
comment on column public.customer_activity_timeline.summary is
'One line for people and the AI, e.g. "Purchase $53.00 (2 items: ...) at Downtown with Sam".';
comment on column public.customer_activity_timeline.metadata is
'Details as JSON. Purchases and refunds: transaction_id, type, status (voided ones are listed too), amount, '
'tax, discounts, items_count, lines_count, location, staff, payment_type, items[]. SMS: message_id, '
'direction, status, kind, content, in_reply_to, sent_at. Lead events: lead_id, event, customer_id, '
'old_status, new_status, conversion_probability, source.';
comment on column public.customer_activity_timeline.recorded_at is
'When the source row was last written (its updated_at; for a lead event the lead''s).';
