-- public.get_overdue_customers(min_days_late default 7, max_rows default 50) lists customers whose
-- predicted next visit (last visit + their mean gap) is at least min_days_late days past, most
-- late first, only numbers that may be texted; bad arguments get 22023 naming them.
begin;
select plan(6);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

-- Every customer visits every 10 days; the last visit makes them late by 17 - 10 = 7, 6, 30 days.
insert into public.customers (member_id, phone) values
('OD-7', '+16195550607'), ('OD-6', '+16195550606'), ('OD-30', '+16195550630'),
('OD-NOPHONE', null), ('OD-STOP', '+16195550698');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('OD-7a', 'OD-7', pg_temp.at(27), 10), ('OD-7b', 'OD-7', pg_temp.at(17), 10),
('OD-6a', 'OD-6', pg_temp.at(26), 10), ('OD-6b', 'OD-6', pg_temp.at(16), 10),
('OD-30a', 'OD-30', pg_temp.at(50), 10), ('OD-30b', 'OD-30', pg_temp.at(40), 10),
('OD-Na', 'OD-NOPHONE', pg_temp.at(60), 10), ('OD-Nb', 'OD-NOPHONE', pg_temp.at(50), 10),
('OD-Sa', 'OD-STOP', pg_temp.at(60), 10), ('OD-Sb', 'OD-STOP', pg_temp.at(50), 10);
insert into conductor.opt_outs (phone_number, keyword) values ('+16195550698', 'STOP');

select results_eq(
    $$select customer_id, days_late, predicted_next_visit from public.get_overdue_customers()$$,
    $$values ('OD-30'::text, 30, conductor.store_today() - 30), ('OD-7'::text, 7, conductor.store_today() - 7)$$,
    '7 or more days late, most late first; 6 days late, no phone and opted out are left out'
);
select results_eq(
    $$select customer_id from public.get_overdue_customers(min_days_late => 0, max_rows => 3)$$,
    $$values ('OD-30'::text), ('OD-7'::text), ('OD-6'::text)$$,
    'min_days_late and max_rows'
);
select is(
    (
        select avg_days_between_visits from public.get_overdue_customers()
        where customer_id = 'OD-7'
    ), 10.00::numeric,
    'with their rhythm'
);
select throws_ok(
    $$select * from public.get_overdue_customers(-1)$$, '22023',
    'min_days_late is out of range: must be between 0 and 36500, got -1', 'a negative min_days_late'
);
select throws_ok(
    $$select * from public.get_overdue_customers(7, 5000)$$, '22023',
    'max_rows is out of range: must be between 1 and 1000, got 5000', 'too many rows'
);
set local role service_role;
select is((select count(*)::integer from public.get_overdue_customers()), 2, 'service_role calls it');
reset role;

select * from finish();
rollback;
