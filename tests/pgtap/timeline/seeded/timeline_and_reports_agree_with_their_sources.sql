-- On the demo data: the refreshed timeline holds exactly one row per member transaction, message
-- and lead event, keyed like its source; get_customer_timeline returns what the view holds when
-- nothing changed since the refresh; the spending analysis agrees with the metrics Conductor
-- maintains on customers (orders, gross sales, refunds) and the purchase history with the line
-- items of completed transactions.
begin;
select plan(8);

select ok(conductor.refresh_activity_timeline(), 'the timeline refreshes');

select is(
    (
        select count(*) from public.customer_activity_timeline
        where source_table = 'transactions'
    ),
    (
        select count(*) from public.transactions
        where customer_id is not null
    ),
    'one row per member transaction (walk-ins have none)'
);
select is(
    (
        select count(*) from public.customer_activity_timeline
        where source_table = 'messages'
    ),
    (select count(*) from public.messages),
    'one row per message'
);
select is(
    (
        select count(*) from public.customer_activity_timeline
        where source_table = 'lead_events'
    ),
    (select count(*) from conductor.lead_events),
    'one row per lead event'
);
select is_empty(
    $$select a.source_id from public.customer_activity_timeline as a
      join public.transactions as t on a.source_table = 'transactions' and t.id = a.source_id
      where a.customer_id is distinct from t.customer_id or a.occurred_at <> t.date
         or a.activity_type <> case t.transaction_type when 'refund' then 'refund' else 'purchase' end$$,
    'transaction rows carry their member, date and type'
);

-- The RPC right after a refresh returns the view's rows for the number and its customer.
select is_empty(
    $$with sample as (
          select c.phone from public.customers as c
          where c.phone is not null and c.total_visits > 0
          order by c.member_id limit 25
      ),
      rpc as (
          select s.phone, (a.value ->> 'source_table') as source_table, (a.value ->> 'source_id')::bigint as source_id
          from sample as s
          cross join lateral jsonb_array_elements(public.get_customer_timeline(s.phone, 500) -> 'activities') as a (value)
      ),
      stored as (
          select s.phone, v.source_table, v.source_id
          from sample as s
          join public.customer_activity_timeline as v
              on v.customer_id = conductor.customer_for_phone(s.phone) or v.phone_number = s.phone
      )
      (select * from rpc except select * from stored)
      union all
      (select * from stored except select * from rpc)$$,
    'get_customer_timeline returns exactly the stored rows of 25 customers when nothing changed'
);

select is_empty(
    $$select s.customer_id from public.customer_spending_analysis as s
      join public.customers as c on c.member_id = s.customer_id
      where s.orders <> c.total_sales or s.refunds <> c.total_refunds
         or s.gross_spend <> c.gross_sales or s.refunded <> c.gross_refunds$$,
    'spending analysis agrees with the maintained customer metrics'
);
select is_empty(
    $$select h.customer_id from public.customer_purchase_history as h
      group by h.customer_id
      having sum(h.line_total) <> (
          select sum(i.total_price) from public.transactions as t
          join public.transaction_items as i on i.transaction_id = t.transaction_id
          where t.customer_id = h.customer_id and t.status = 'completed'
      )$$,
    'purchase history sums to the line items of each customer''s completed transactions'
);

select * from finish();
rollback;
