-- public.get_customer_insights(phone_number) returns in one JSON object everything
-- customer_sms_context has for the customer with that phone (any common US format), picks the
-- most recent visitor when several share it and says how many do, answers an unknown phone with
-- {"found": false, ...} (still with opt-out state and open lead), and rejects a missing or
-- malformed phone with 22023 naming phone_number. The answer is the same whether the customer's
-- ready-made context is stale (computed live) or current (read from conductor.customer_context,
-- where it is kept as the text the call returns, found by the phone in any format).
begin;
select plan(18);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.customers (member_id, name, phone) values
('GI-OLD', 'Old visitor', '+16195550401'),
('GI-NEW', 'Recent visitor', '+16195550401'),
('GI-SOLO', 'Solo', '+16195550402');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('GI-T1', 'GI-OLD', pg_temp.at(40), 10.00),
('GI-T2', 'GI-NEW', pg_temp.at(4), 25.00),
('GI-T3', 'GI-SOLO', pg_temp.at(2), 80.00);

select is(
    public.get_customer_insights(phone_number => '(619) 555-0402') ->> 'member_id', 'GI-SOLO',
    'found by phone in a US format'
);
select is(
    public.get_customer_insights('+16195550402')::jsonb - 'as_of_date',
    (
        select jsonb_build_object('found', true, 'phone_number', '+16195550402') || to_jsonb(v) - 'as_of_date'
        from public.customer_sms_context as v
        where v.member_id = 'GI-SOLO'
    ),
    'the answer is found = true plus the customer''s customer_sms_context row'
);
select is(
    (
        select x.built_version = x.version from conductor.customer_context as x
        where x.customer_id = 'GI-SOLO'
    ),
    false,
    'before a build, the context is stale (the answer above was computed live)'
);
select cmp_ok(conductor.refresh_customer_context(), '>=', 3, 'the builder builds the new customers'' context');
select is(
    public.get_customer_insights('+16195550402')::jsonb - 'as_of_date',
    (
        select jsonb_build_object('found', true, 'phone_number', '+16195550402') || to_jsonb(v) - 'as_of_date'
        from public.customer_sms_context as v
        where v.member_id = 'GI-SOLO'
    ),
    'once built, the answer read from the ready-made row is the same'
);
select is(
    public.get_customer_insights('+16195550402')::text,
    (
        select x.insights::text from conductor.customer_context as x
        where x.customer_id = 'GI-SOLO'
    ),
    'the ready answer is returned as the stored text'
);
select is(
    public.get_customer_insights('(619) 555-0402')::text,
    (
        select x.insights::text from conductor.customer_context as x
        where x.customer_id = 'GI-SOLO'
    ),
    'and found by the phone in another format too'
);
select is(
    (
        select x.insights::text from conductor.customer_context as x
        where x.customer_id = 'GI-SOLO'
    ),
    (
        select x.insights::jsonb::text from conductor.customer_context as x
        where x.customer_id = 'GI-SOLO'
    ),
    'the stored text is jsonb''s rendering, as the live answer is'
);
select set_eq(
    $$select json_object_keys(public.get_customer_insights('+16195550402'))$$,
    $$select a.attname::text from pg_catalog.pg_attribute as a
      where a.attrelid = 'public.customer_sms_context'::regclass and a.attnum > 0 and not a.attisdropped
      union all select 'found' union all select 'phone_number'$$,
    'its keys: found, phone_number and exactly the columns of customer_sms_context'
);
select results_eq(
    $$select r ->> 'member_id', (r ->> 'customers_sharing_phone')::integer, (r ->> 'days_since_last_visit')::integer
      from (select public.get_customer_insights('+16195550401') as r) as x$$,
    $$values ('GI-NEW'::text, 2, 4)$$,
    'a shared phone: the most recent visitor, and how many share it'
);

insert into conductor.opt_outs (phone_number, keyword) values ('+16195550499', 'STOP');
insert into public.leads (phone_number, last_message) values ('+16195550499', 'hours?');
select is(
    public.get_customer_insights('619-555-0499')::jsonb - 'open_lead' - 'opted_out_at',
    '{"found": false, "phone_number": "+16195550499", "customers_sharing_phone": 0, "opted_out": true,
      "opt_out_review": null}'::jsonb,
    'an unknown phone: found = false, normalized, with its opt-out state'
);
select is(
    public.get_customer_insights('619-555-0499') #>> '{open_lead,last_message}', 'hours?',
    'and its open lead'
);
select is(
    public.get_customer_insights('+16195550777')::jsonb,
    '{"found": false, "phone_number": "+16195550777", "customers_sharing_phone": 0, "opted_out": false,
      "opted_out_at": null, "opt_out_review": null, "open_lead": null}'::jsonb,
    'a number nobody knows: a clear empty answer'
);
select throws_ok(
    $$select public.get_customer_insights('call me maybe')$$, '22023',
    'phone_number: "call me maybe" is not a phone number that can be written in E.164',
    'a malformed phone is rejected naming phone_number'
);
select throws_ok(
    $$select public.get_customer_insights(null)$$, '22023',
    'phone_number is required: pass a phone number such as +16199773020', 'a missing phone too'
);
select throws_ok(
    $$select public.get_customer_insights('  ')$$, '22023',
    'phone_number is required: pass a phone number such as +16199773020', 'and a blank one'
);

set local role service_role;
select is(
    public.get_customer_insights(phone_number => '+16195550402') ->> 'member_id', 'GI-SOLO',
    'service_role calls it'
);
reset role;
set local role anon;
select throws_ok(
    $$select public.get_customer_insights('+16195550402')$$, '42501', null, 'anon cannot'
);
reset role;

select * from finish();
rollback;
