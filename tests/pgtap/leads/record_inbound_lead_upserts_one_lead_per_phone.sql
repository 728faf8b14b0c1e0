-- public.record_inbound_lead creates the lead of a number on its first message and updates it on
-- the next ones (last_message follows the newest message; the first source is kept), returning
-- the lead after linking. conductor.upsert_lead is the same operation with the signature inbound
-- SMS handling calls. Both refuse a malformed number with 22023 naming phone_number. The RPC is
-- security definer with search_path pg_catalog, pg_temp, executable by service_role only.
begin;
select plan(24);

select function_returns('public', 'record_inbound_lead', array['text', 'text', 'text'], 'jsonb');
select is(
    (
        select p.provolatile from pg_catalog.pg_proc as p
        where p.oid = 'public.record_inbound_lead(text,text,text)'::regprocedure
    ),
    'v', 'record_inbound_lead is volatile'
);
select is(
    (
        select p.prosecdef and p.proconfig @> array['search_path=pg_catalog, pg_temp']
        from pg_catalog.pg_proc as p
        where p.oid = 'public.record_inbound_lead(text,text,text)'::regprocedure
    ),
    true, 'record_inbound_lead is security definer with search_path pg_catalog, pg_temp'
);
select is(
    (
        select array_agg(r.rolname::text order by r.rolname)
        from pg_catalog.pg_roles as r
        where
            r.rolname in ('anon', 'authenticated', 'service_role', 'public')
            and has_function_privilege(r.oid, 'public.record_inbound_lead(text,text,text)', 'EXECUTE')
    ),
    array['service_role'], 'only service_role may execute record_inbound_lead'
);
select function_returns(
    'conductor', 'upsert_lead', array['text', 'text', 'text', 'timestamp with time zone'], 'leads',
    'conductor.upsert_lead(p_phone_number, p_message, p_source, p_received_at) returns public.leads'
);
select is(
    (
        select array_to_string(p.proargnames, ',') from pg_catalog.pg_proc as p
        where p.oid = 'conductor.upsert_lead(text,text,text,timestamptz)'::regprocedure
    ),
    'p_phone_number,p_message,p_source,p_received_at', 'upsert_lead has the agreed argument names'
);

set local role service_role;
create temporary table first_call on commit drop as
select public.record_inbound_lead(phone_number => '(619) 555-0301', message => 'hi, are you open?') as r;
reset role;
select is((select r ->> 'is_new' from first_call), 'true', 'the first message creates the lead (is_new)');
select is((select r ->> 'phone_number' from first_call), '+16195550301', 'the number is stored as E.164');
select is((select r ->> 'status' from first_call), 'new', 'an unknown number is a new lead');
select is((select r ->> 'stage' from first_call), 'initial', 'at the initial stage');
select is((select (r ->> 'conversion_probability')::numeric from first_call), 0.3, 'with the prospect probability');
select ok((select r ? 'customer_id' and r -> 'customer_id' = 'null'::jsonb from first_call), 'customer_id is null');
select results_eq(
    $$select last_message, source from public.leads where phone_number = '+16195550301'$$,
    $$values ('hi, are you open?'::text, 'sms'::text)$$,
    'last_message is recorded and source defaults to sms'
);

insert into public.customers (member_id, name, phone) values ('R-M1', 'Margaret', '+16195550302');
select is(
    public.record_inbound_lead('+16195550302', 'I want to order', 'web') - 'id' - 'last_message_at',
    jsonb_build_object(
        'phone_number', '+16195550302', 'status', 'warm', 'stage', 'initial', 'customer_id', 'R-M1',
        'conversion_probability', 0.800, 'is_new', true
    ),
    'a customer''s number: the lead is linked, warm, 0.8'
);

select is(
    (public.record_inbound_lead('6195550301', 'second message', 'web') ->> 'is_new'), 'false',
    'the next message updates the same lead'
);
select results_eq(
    $$select count(*)::integer, max(last_message), max(source) from public.leads where phone_number = '+16195550301'$$,
    $$values (1, 'second message'::text, 'sms'::text)$$,
    'one lead per number, last_message replaced, the first source kept'
);

-- A message received earlier than the one recorded (delivered late) does not replace it.
select is(
    (conductor.upsert_lead('+16195550301', 'newest', 'sms', now() + interval '1 hour')).last_message, 'newest',
    'upsert_lead returns the lead'
);
select is(
    (conductor.upsert_lead('+16195550301', 'late arrival', 'sms', now() - interval '1 hour')).last_message, 'newest',
    'upsert_lead of an older message returns the lead unchanged'
);
select results_eq(
    $$select last_message, last_message_at from public.leads where phone_number = '+16195550301'$$,
    $$values ('newest'::text, now() + interval '1 hour')$$,
    'an older message does not replace a newer one'
);
select is(
    (conductor.upsert_lead('+16195550303', 'from the modem', 'sms', '2026-01-02 03:04:05+00')).last_message_at,
    '2026-01-02 03:04:05+00'::timestamptz,
    'upsert_lead records the time the message was received'
);

select throws_ok(
    $$select public.record_inbound_lead('12345', 'x')$$,
    '22023', 'phone_number: "12345" is not a phone number that can be written in E.164',
    'a malformed number is refused naming phone_number'
);
select throws_ok(
    $$select public.record_inbound_lead(null, 'x')$$,
    '22023', 'phone_number is required: pass a phone number such as +16199773020',
    'a missing number is refused naming phone_number'
);
select throws_ok(
    $$select conductor.upsert_lead('not a phone', 'x', 'sms', now())$$,
    '22023', null,
    'upsert_lead refuses a malformed number too'
);
set local role anon;
select throws_ok(
    $$select public.record_inbound_lead('+16195550304', 'x')$$,
    '42501', null,
    'anon cannot call record_inbound_lead'
);
reset role;

select * from finish();
rollback;
