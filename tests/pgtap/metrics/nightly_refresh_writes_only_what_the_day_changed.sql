-- conductor.nightly_refresh brings the clock-dependent values (days since the last visit, churn,
-- recency, lead score and segment, deviation from the predicted visit) to the store's today,
-- writes only the rows whose values change, and a second run writes nothing.
begin;
select plan(6);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.customers (member_id) values ('NR-1'), ('NR-2'), ('NR-3');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('NR-T1', 'NR-1', pg_temp.at(40), 20.00),
('NR-T2', 'NR-1', pg_temp.at(30), 20.00),
('NR-T3', 'NR-2', pg_temp.at(5), 20.00);

select is(
    conductor.nightly_refresh() - 'as_of_date',
    '{"ran": true, "customers": 0, "customer_visit_patterns": 0}'::jsonb,
    'on a day already refreshed it writes nothing'
);

-- Yesterday's values, as the job finds them after the store's date turned.
alter table public.customers disable trigger user;
alter table public.customer_visit_patterns disable trigger user;
update public.customers
set days_since_last_visit = days_since_last_visit - 1, churn_risk = 'Low', lead_score = 20, lead_segment = 'warm'
where member_id = 'NR-1';
update public.customers set days_since_last_visit = days_since_last_visit - 1
where member_id = 'NR-2';
update public.customer_visit_patterns set last_visit_deviation_days = last_visit_deviation_days - 1
where customer_id = 'NR-1';
alter table public.customers enable trigger user;
alter table public.customer_visit_patterns enable trigger user;

select is(
    conductor.nightly_refresh() - 'as_of_date',
    '{"ran": true, "customers": 2, "customer_visit_patterns": 1}'::jsonb,
    'after the date turned it rewrites exactly the customers with visits and the patterns'
);
select results_eq(
    $$select member_id, days_since_last_visit, churn_risk, rfm_recency, lead_score, lead_segment
      from public.customers order by member_id$$,
    $$values ('NR-1'::text, 30, 'Medium'::text, 5::smallint, 20::smallint, 'warm'::text),
             ('NR-2'::text, 5, 'Low'::text, 5::smallint, 20::smallint, 'warm'::text),
             ('NR-3'::text, null::integer, null::text, 1::smallint, 6::smallint, 'cold'::text)$$,
    'the values are today''s'
);
select is(
    (
        select last_visit_deviation_days from public.customer_visit_patterns
        where customer_id = 'NR-1'
    ), 20,
    'deviation = today - (last visit + mean gap) = 30 - 10'
);
select is(
    (conductor.nightly_refresh() ->> 'customers')::integer, 0,
    'a second run writes nothing'
);
select is(
    (conductor.nightly_refresh() ->> 'as_of_date')::date, conductor.store_today(),
    'it reports the store date it refreshed for'
);

select * from finish();
rollback;
