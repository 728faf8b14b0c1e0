-- public.get_customer_timeline(phone_number, max_rows, before) returns the activity of the
-- customer with that phone and of the number itself, newest first, including what happened
-- after the last refresh of the materialized view (new rows, changed rows, deleted rows), pages
-- without gaps or repeats, and checks its arguments. STABLE, security definer, service_role only.
begin;
select plan(21);

select function_returns('public', 'get_customer_timeline', array['text', 'integer', 'timestamp with time zone'], 'jsonb');
select is(
    (
        select p.provolatile::text || p.prosecdef::text || (p.proconfig @> array['search_path=pg_catalog, pg_temp'])::text
        from pg_catalog.pg_proc as p
        where p.oid = 'public.get_customer_timeline(text,integer,timestamptz)'::regprocedure
    ),
    'struetrue', 'stable, security definer, search_path pg_catalog, pg_temp'
);
select is(
    (
        select array_agg(r.rolname::text order by r.rolname)
        from pg_catalog.pg_roles as r
        where
            r.rolname in ('anon', 'authenticated', 'service_role')
            and has_function_privilege(r.oid, 'public.get_customer_timeline(text,integer,timestamptz)', 'EXECUTE')
    ),
    array['service_role'], 'only service_role may execute it'
);

insert into public.customers (member_id, name, phone) values ('GT-M1', 'Ada', '+16195550601');
-- Rows written days ago (updated_at as an import would leave it), then refreshed.
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount, updated_at) values
('GT-T1', 'GT-M1', '2026-09-01 18:00+00', 'Downtown', 'Sam', 20, now() - interval '10 days'),
('GT-T2', 'GT-M1', '2026-09-02 18:00+00', 'Downtown', 'Sam', 30, now() - interval '5 days');
insert into public.messages (phone_number, content, timestamp, direction, status, message_kind, updated_at) values
('+16195550601', 'hi', '2026-09-03 18:00+00', 'inbound', 'unread', 'reply', now() - interval '2 days');
select ok(conductor.refresh_activity_timeline(), 'refreshed');
select is(
    (
        select array_agg(r.activity_type order by r.occurred_at)
        from conductor.activity_timeline_rows(
            'GT-M1', '+16195550601',
            (
                select max(a.recorded_at) from public.customer_activity_timeline as a
                where a.customer_id = 'GT-M1'
            )
            - interval '24 hours'
        ) as r
    ),
    array['sms_inbound'],
    'only the rows written within the overlap before the newest stored row are read live (the two sales are not)'
);

create temporary table t0 on commit drop as
select public.get_customer_timeline('(619) 555-0601') as r;
select is((select r ->> 'customer_id' from t0), 'GT-M1', 'the customer of the number');
select is((select r ->> 'customer_name' from t0), 'Ada', 'with their name');
select is(
    (select jsonb_path_query_array(r, '$.activities[*].activity_type') from t0),
    '["sms_inbound", "purchase", "purchase"]'::jsonb,
    'newest first, the stored sales with the live message'
);

-- After the refresh: a new sale, a voided one, a message read, a message deleted.
insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name, total_amount) values
('GT-T3', 'GT-M1', '2026-09-04 18:00+00', 'Uptown', 'Lee', 40);
update public.transactions set status = 'voided'
where transaction_id = 'GT-T1';
update public.messages set status = 'read', read_at = now()
where phone_number = '+16195550601';
insert into public.messages (phone_number, content, timestamp, direction, status, message_kind) values
('+16195550601', 'never mind', '2026-09-05 18:00+00', 'inbound', 'unread', 'reply');
delete from public.messages
where content = 'never mind';

create temporary table t1 on commit drop as
select public.get_customer_timeline('+16195550601') as r;
select is(
    (select jsonb_path_query_array(r, '$.activities[*].summary') from t1),
    '["Purchase $40.00 at Uptown with Lee", "Texted us: hi", "Purchase $30.00 at Downtown with Sam", '
    '"Voided purchase $20.00 at Downtown with Sam"]'::jsonb,
    'a sale made after the refresh is there, a voided one shows voided'
);
select is(
    (select jsonb_path_query_first(r, '$.activities[1].metadata.status') from t1),
    '"read"'::jsonb,
    'a message changed after the refresh shows as it is now'
);
select is(
    (select jsonb_array_length(r -> 'activities') from t1), 4,
    'a row deleted after the refresh is gone, and nothing is listed twice'
);
select is(
    (
        select count(*)::integer from public.customer_activity_timeline
        where customer_id = 'GT-M1'
    ), 3,
    '(the materialized view itself has not been refreshed)'
);

-- Paging: before = next_before walks the whole history, activities sharing a time stay together.
insert into public.messages (phone_number, content, timestamp, direction, status, message_kind) values
('+16195550601', 'same time a', '2026-09-02 18:00+00', 'inbound', 'read', 'reply'),
('+16195550601', 'same time b', '2026-09-02 18:00+00', 'outbound', 'sent', 'reply');
create temporary table p1 on commit drop as select public.get_customer_timeline('+16195550601', 2) as r;
select results_eq(
    $$select jsonb_array_length(r -> 'activities'), (r ->> 'has_more')::boolean, (r ->> 'next_before')::timestamptz from p1$$,
    $$values (2, true, '2026-09-03 18:00+00'::timestamptz)$$,
    'a page of max_rows with has_more and next_before'
);
create temporary table p2 on commit drop as
select public.get_customer_timeline('+16195550601', 2, (select (r ->> 'next_before')::timestamptz from p1)) as r;
select results_eq(
    $$select jsonb_array_length(r -> 'activities'), (r ->> 'has_more')::boolean from p2$$,
    $$values (3, true)$$,
    'a page is longer than max_rows only to keep activities sharing a time together'
);
create temporary table p3 on commit drop as
select public.get_customer_timeline('+16195550601', 2, (select (r ->> 'next_before')::timestamptz from p2)) as r;
select results_eq(
    $$select jsonb_path_query_array(r, '$.activities[*].summary'), (r ->> 'has_more')::boolean, r -> 'next_before' from p3$$,
    $$values ('["Voided purchase $20.00 at Downtown with Sam"]'::jsonb, false, 'null'::jsonb)$$,
    'the last page says there is no more'
);

select is(
    public.get_customer_timeline('+447700900123'),
    '{"phone_number": "+447700900123", "customer_id": null, "customer_name": null, "activities": [], '
    '"has_more": false, "next_before": null}'::jsonb,
    'an unknown number gives a clear empty answer'
);

insert into public.leads (phone_number, last_message) values ('+16195550602', 'price of gummies?');
select is(
    (select jsonb_path_query_array(public.get_customer_timeline('+16195550602'), '$.activities[*].activity_type')),
    '["lead_created"]'::jsonb,
    'a number with no customer: its own lead events and SMS'
);

select throws_ok(
    $$select public.get_customer_timeline('call me')$$, '22023',
    'phone_number: "call me" is not a phone number that can be written in E.164',
    'a malformed number is refused naming phone_number'
);
select throws_ok(
    $$select public.get_customer_timeline(null)$$, '22023', 'phone_number is required: pass a phone number such as +16199773020',
    'a missing number is refused naming phone_number'
);
select throws_ok(
    $$select public.get_customer_timeline('+16195550601', 0)$$, '22023', 'max_rows is out of range: must be between 1 and 500, got 0',
    'max_rows below 1 is refused naming max_rows'
);
select throws_ok(
    $$select public.get_customer_timeline('+16195550601', 501)$$, '22023', null,
    'max_rows above the timeline_max_rows setting is refused'
);

select * from finish();
rollback;
