-- n8n and POS syncs write as service_role through the API: a customer and a sale inserted
-- that way pass every trigger and are maintained like any other.
begin;
select plan(3);

set local role service_role;
select lives_ok(
    $$insert into public.customers (member_id, name, phone) values ('M-SR-1', 'Via API', '(619) 555-0142')$$,
    'service_role inserts a customer'
);
select lives_ok(
    $$insert into public.transactions (transaction_id, customer_id, "date", total_amount)
      values ('T-SR-1', 'M-SR-1', now() - interval '1 day', 42.50)$$,
    'service_role inserts a sale'
);
reset role;

select is(
    (
        select lifetime_value from public.customers
        where member_id = 'M-SR-1'
    ), 42.50::numeric(14, 2
    ),
    'the sale is counted at once'
);

select * from finish();
rollback;
