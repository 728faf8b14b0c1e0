-- public.customer_sms_context serves one row per customer with everything the AI needs, its
-- clock-dependent values computed against today (never the stored, possibly stale, columns):
-- favourite products and category, last purchases, preferred location and budtender, opt-out
-- state, open lead and how many customers share the phone. service_role reads it; anon cannot.
begin;
select plan(12);

create function pg_temp.at(p_days_ago integer, p_time time default '12:00')
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + p_time) at time zone conductor.store_time_zone()
$$;

insert into public.products (product_id, sku, name, category, brand) values
('CX-P1', 'CX-1', 'Blue Dream 3.5g', 'Flower', 'Kiva'),
('CX-P2', 'CX-2', 'Mango Gummies', 'Edibles', 'Wyld'),
('CX-P3', 'CX-3', 'Cart 1g', 'Vapes', 'Stiiizy'),
('CX-P4', 'CX-4', 'Pre-roll', 'Flower', 'Lowell');
insert into public.customers (member_id, name, phone, loyalty_points) values
('CX-1', 'Ada', '+16195550301', 120),
('CX-2', 'Ada''s partner', '+16195550301', 0);
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount) values
('CX-T1', 'CX-1', pg_temp.at(70), 'Harbor', 'Nova', 53.00),
('CX-T2', 'CX-1', pg_temp.at(65), 'Harbor', 'Kai', 35.00),
('CX-T3', 'CX-1', pg_temp.at(62), 'Uptown', 'Nova', 30.00),
('CX-T4', 'CX-1', pg_temp.at(61), 'Harbor', 'Nova', 12.00);
insert into public.transaction_items (
    transaction_id, line_number, product_sku, product_name, category, quantity,
    unit_price, total_price
) values
('CX-T1', 1, 'CX-1', null, null, 1, 35.00, 35.00),
('CX-T1', 2, 'CX-2', 'Mango Gummies', 'Edibles', 1, 18.00, 18.00),
('CX-T2', 1, 'CX-1', 'Blue Dream 3.5g', 'Flower', 1, 35.00, 35.00),
('CX-T3', 1, 'CX-3', 'Cart 1g', 'Vapes', 1, 30.00, 30.00),
('CX-T4', 1, 'CX-4', 'Pre-roll', 'Flower', 1, 12.00, 12.00);
insert into conductor.opt_outs (phone_number, keyword) values ('+16195550301', 'STOP');
insert into public.leads (phone_number, last_message) values ('+16195550301', 'do you have gummies?');

-- Stored values gone stale (as before a nightly refresh): the view must not serve them.
alter table public.customers disable trigger user;
update
    public.customers set
    days_since_last_visit = 1, churn_risk = 'Low', rfm_recency = 5, lead_score = 30,
    lead_segment = 'hot'
where member_id = 'CX-1';
alter table public.customers enable trigger user;

select results_eq(
    $$select days_since_last_visit, churn_risk, rfm_recency, rfm_frequency, rfm_monetary, lead_score, lead_segment,
             as_of_date
      from public.customer_sms_context where member_id = 'CX-1'$$,
    $$values (61, 'High'::text, 3::smallint, 3::smallint, 2::smallint, 17::smallint, 'cool'::text,
              conductor.store_today())$$,
    'churn, recency, lead score and segment as of today, not the stale stored values'
);
select results_eq(
    $$select vip_status, total_visits, lifetime_value, loyalty_points, avg_days_between_visits, days_late
      from public.customer_sms_context where member_id = 'CX-1'$$,
    $$values ('Casual'::text, 4, 130.00::numeric, 120.00::numeric, 3.00::numeric, 58)$$,
    'tier, visits, value, points and how late against their rhythm'
);
select is(
    (
        select jsonb_path_query_array(favorite_products, '$[*].product_name') from public.customer_sms_context
        where member_id = 'CX-1'
    ),
    '["Blue Dream 3.5g", "Cart 1g", "Mango Gummies"]'::jsonb,
    'top 3 products: most purchased first, then most spent; names fall back to the catalogue'
);
select is(
    (
        select favorite_category from public.customer_sms_context
        where member_id = 'CX-1'
    ), 'Flower',
    'favourite category: most product purchases'
);
select is(
    (
        select jsonb_path_query_array(recent_purchases, '$[*].transaction_id') from public.customer_sms_context
        where member_id = 'CX-1'
    ),
    '["CX-T4", "CX-T3", "CX-T2"]'::jsonb,
    'last 3 purchases, newest first'
);
select results_eq(
    $$select preferred_location, preferred_budtender, last_purchase_date from public.customer_sms_context
      where member_id = 'CX-1'$$,
    $$values ('Harbor'::text, 'Nova'::text, conductor.store_today() - 61)$$,
    'preferred location and budtender: where and with whom most sales happened'
);
select results_eq(
    $$select opted_out, open_lead ->> 'last_message', customers_sharing_phone from public.customer_sms_context
      where member_id = 'CX-1'$$,
    $$values (true, 'do you have gummies?'::text, 2)$$,
    'opt-out state, the open lead and the customers sharing the phone'
);
select results_eq(
    $$select total_visits, days_since_last_visit, churn_risk, lead_score, favorite_products, recent_purchases
      from public.customer_sms_context where member_id = 'CX-2'$$,
    $$values (0, null::integer, null::text, 6::smallint, '[]'::jsonb, '[]'::jsonb)$$,
    'a customer without purchases: empty lists, no churn'
);
select is(
    (select count(*) from public.customer_sms_context), (select count(*) from public.customers),
    'one row per customer'
);

set local role service_role;
select lives_ok(
    $$select * from public.customer_sms_context where phone = '+16195550301'$$,
    'service_role reads the view (which reads conductor relations for it)'
);
reset role;
set local role anon;
select throws_ok(
    $$select * from public.customer_sms_context$$, '42501', null, 'anon cannot read it'
);
reset role;
set local role authenticated;
select throws_ok(
    $$select * from public.customer_sms_context$$, '42501', null, 'authenticated cannot read it'
);
reset role;

select * from finish();
rollback;
