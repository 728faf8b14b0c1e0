-- The customer and marketing reports on hand-made customers: counts (total, new this month,
-- VIP, active in 30 days), the segment, churn and RFM distributions, preferred products per
-- segment, visit-prediction accuracy scored on history, and the daily lead-score history
-- (segment trend and per-customer changes, written only when something changed).
begin;
select plan(16);

create function pg_temp.store_at(p_days_ago integer) returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

-- Fewer visits make a VIP here, so the fixture stays small.
update conductor.vip_tiers set min_visits = 4
where tier = 'VIP';
update conductor.vip_tiers set min_visits = 3
where tier = 'Regular';

insert into public.products (product_id, sku, name, category) values
('CR-P1', 'CR-1', 'Blue Dream 3.5g', 'Flower'), ('CR-P2', 'CR-2', 'Mango Gummies', 'Edibles');
insert into public.customers (member_id, name, registered_on) values
('CR-V1', 'Regular rhythm', conductor.store_today() - 400),
('CR-V2', 'Came twice, overdue', conductor.store_today() - 400),
('CR-N1', 'Never visited', conductor.store_today());

-- CR-V1 visits 40, 30, 20 and 5 days ago; CR-V2 30 and 20 days ago.
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('CR-T1', 'CR-V1', pg_temp.store_at(40), 10),
('CR-T2', 'CR-V1', pg_temp.store_at(30), 10),
('CR-T3', 'CR-V1', pg_temp.store_at(20), 10),
('CR-T4', 'CR-V1', pg_temp.store_at(5), 10),
('CR-T5', 'CR-V2', pg_temp.store_at(30), 25),
('CR-T6', 'CR-V2', pg_temp.store_at(20), 25);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price) values
('CR-T1', 1, 'CR-1', 1, 10, 10), ('CR-T2', 1, 'CR-1', 1, 10, 10), ('CR-T4', 1, 'CR-2', 1, 10, 10),
('CR-T5', 1, 'CR-2', 1, 25, 25);

select results_eq(
    $$select total_customers, customers_with_visits, new_this_month, vip_customers, active_last_30_days
      from public.report_customer_counts$$,
    $$values (3::bigint, 2::bigint, 1::bigint, 1::bigint, 2::bigint)$$,
    'three customers, two with visits, the one registered today is new, CR-V1 is VIP, both visitors active'
);
select results_eq(
    $$select sum(customers)::bigint, sum(share), sum(total_lifetime_value) from public.report_segments$$,
    $$values (3::bigint, 1.0000::numeric, 90::numeric)$$,
    'segments hold every scored customer (one without visits too) and their lifetime value'
);
select results_eq(
    $$select s.lead_segment, s.customers, s.avg_lifetime_value
      from public.report_segments as s
      inner join public.customers as c on c.lead_segment = s.lead_segment
      where c.member_id = 'CR-V1'$$,
    $$select c.lead_segment, 2::bigint, 45.00::numeric from public.customers as c where c.member_id = 'CR-V1'$$,
    'CR-V1 shares its segment with CR-V2: two customers, average lifetime value (40 + 50) / 2'
);
select results_eq(
    $$select churn_risk, customers from public.report_churn_distribution order by churn_risk$$,
    $$select coalesce(c.churn_risk, 'No visits'), count(*) from public.customers as c group by 1 order by 1$$,
    'churn distribution per risk, customers without a visit apart'
);
select is(
    (select sum(customers)::bigint from public.report_rfm_distribution),
    3::bigint,
    'the RFM distribution holds the scored customers'
);
select results_eq(
    $$select p.product_sku, p.customers from public.report_preferred_products_by_segment as p
      inner join public.customers as c on c.lead_segment = p.lead_segment and c.member_id = 'CR-V1'
      order by p.product_rank$$,
    $$values ('CR-2'::text, 2::bigint), ('CR-1'::text, 1::bigint)$$,
    'the products of CR-V1''s segment: the gummies both bought first, then Blue Dream'
);

-- Predictions: as of visit 2 of CR-V1 (30 days ago) mean gap 10 -> 20 days ago, came then (0);
-- as of visit 3 (20 days ago) mean gap 10 -> 10 days ago, came 5 days ago (+5); as of visit 4
-- no outcome yet, not due. CR-V2 as of visit 2: due 10 days ago, never came: overdue.
select results_eq(
    $$select predictions, mean_abs_error_days, median_abs_error_days, mean_error_days, within_3_days,
             within_7_days, overdue_not_returned
      from public.report_visit_prediction_accuracy where month is null$$,
    $$values (2::bigint, 2.50::numeric, 2.5::double precision, 2.50::numeric, 0.5000::numeric, 1.0000::numeric,
              1::bigint)$$,
    'visit predictions scored against the visits that came'
);
select is(
    (
        select sum(predictions)::bigint from public.report_visit_prediction_accuracy
        where month is not null
    ),
    2::bigint,
    'the months hold the same predictions'
);

select is(
    conductor.record_lead_score_history() - 'as_of_date',
    '{"ran": true, "segments_written": 1, "customers_changed": 3}'::jsonb - 'segments_written'
    || jsonb_build_object('segments_written', (select count(distinct lead_segment) from public.customers)),
    'the first recording keeps every scored customer and today''s segments'
);
select is(
    conductor.record_lead_score_history() - 'as_of_date',
    '{"ran": true, "segments_written": 0, "customers_changed": 0}'::jsonb,
    'a second recording the same day finds nothing changed and writes nothing'
);
select results_eq(
    $$select sum(customers)::bigint, sum(share) from public.report_lead_score_trend
      where as_of_date = conductor.store_today()$$,
    $$values (3::bigint, 1.0000::numeric)$$,
    'today''s trend point holds every scored customer'
);

-- CR-V2 had another score yesterday: today's recording differs from it and gets its own row.
delete from conductor.lead_score_changes
where customer_id = 'CR-V2';
insert into conductor.lead_score_changes (customer_id, as_of_date, lead_score, lead_segment)
values ('CR-V2', conductor.store_today() - 1, 1, 'cold');
select is(
    (conductor.record_lead_score_history() ->> 'customers_changed')::integer,
    1,
    'a customer whose score differs from their latest recorded one gets a row'
);
select results_eq(
    $$select changed_on, previous_lead_score, previous_lead_segment from public.customer_lead_score_history
      where customer_id = 'CR-V2' order by changed_on$$,
    $$values (conductor.store_today() - 1, null::smallint, null::text), (conductor.store_today(), 1::smallint, 'cold'::text)$$,
    'the history shows yesterday''s score before today''s'
);
select results_eq(
    $$select lead_score, lead_segment from public.customer_lead_score_history
      where customer_id = 'CR-V2' and changed_on = conductor.store_today()$$,
    $$select lead_score, lead_segment from public.customers where member_id = 'CR-V2'$$,
    'today''s row is the customer''s current score'
);

set local role service_role;
select lives_ok(
    $$select count(*) from public.report_customer_counts, public.report_lead_score_trend,
      public.customer_lead_score_history, public.report_visit_prediction_accuracy$$,
    'service_role reads the reports'
);
reset role;
set local role authenticated;
select throws_ok($$select count(*) from public.report_lead_score_trend$$, '42501', null, 'authenticated cannot');
reset role;

select * from finish();
rollback;
