-- Visit days are calendar days in the store_time_zone setting: changing the setting recomputes
-- every derived value. 23:30 and 00:30 the next night in Los Angeles are two days there and one
-- day (02:30 and 03:30) in New York.
begin;
select plan(3);

insert into public.customers (member_id) values ('TZ-1');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('TZ-T1', 'TZ-1', timestamp '2025-03-10 23:30' at time zone 'America/Los_Angeles', 10.00),
('TZ-T2', 'TZ-1', timestamp '2025-03-11 00:30' at time zone 'America/Los_Angeles', 10.00);
select results_eq(
    $$select total_visits, first_visited, last_visited from public.customers where member_id = 'TZ-1'$$,
    $$values (2, date '2025-03-10', date '2025-03-11')$$,
    'two visits in Los Angeles'
);

update conductor.settings set value = '"America/New_York"'
where key = 'store_time_zone';
select results_eq(
    $$select total_visits, first_visited, last_visited from public.customers where member_id = 'TZ-1'$$,
    $$values (1, date '2025-03-11', date '2025-03-11')$$,
    'one visit in New York'
);
select is(
    (
        select total_visits from public.customer_visit_patterns
        where customer_id = 'TZ-1'
    ), 1,
    'and the visit pattern with it'
);

select * from finish();
rollback;
