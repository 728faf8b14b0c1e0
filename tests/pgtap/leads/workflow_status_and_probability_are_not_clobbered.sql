-- Linking promotes only new to warm: a status a workflow set is kept. A conversion probability
-- the workflow writes is kept until the link changes; the defaults are settings rows, not literals.
begin;
select plan(11);

insert into public.customers (member_id, name, phone) values ('W-M1', 'Grace', '+16195550201');

insert into public.leads (phone_number, lead_status) values ('+16195550201', 'hot');
select is(
    (
        select lead_status from public.leads
        where phone_number = '+16195550201'
    ), 'hot',
    'a hot lead of a customer stays hot'
);

insert into public.leads (phone_number, lead_status) values ('+16195550202', 'cold');
insert into public.customers (member_id, name, phone) values ('W-M2', 'Linus', '+16195550202');
select results_eq(
    $$select customer_id, lead_status from public.leads where phone_number = '+16195550202'$$,
    $$values ('W-M2'::text, 'cold'::text)$$,
    'a cold lead linked later stays cold'
);

-- A linked lead is never new: a workflow writing new on it gets warm.
update public.leads set lead_status = 'new'
where phone_number = '+16195550201';
select is(
    (
        select lead_status from public.leads
        where phone_number = '+16195550201'
    ), 'warm',
    'new on a linked lead becomes warm'
);
update public.leads set lead_status = 'converted'
where phone_number = '+16195550201';
select is(
    (
        select lead_status from public.leads
        where phone_number = '+16195550201'
    ), 'converted',
    'converted is kept'
);

-- An explicit probability wins on insert and on later updates of other columns.
insert into public.leads (phone_number, conversion_probability) values ('+16195550203', 0.55);
select is(
    (
        select conversion_probability from public.leads
        where phone_number = '+16195550203'
    ), 0.550,
    'a probability given on insert is kept'
);
update public.leads set conversion_probability = 0.9
where phone_number = '+16195550203';
update public.leads set conversation_stage = 'asked about hours'
where phone_number = '+16195550203';
select is(
    (
        select conversion_probability from public.leads
        where phone_number = '+16195550203'
    ), 0.900,
    'a probability the workflow set survives updates of other columns'
);

-- The link changes (the number becomes a customer's): the probability follows the link.
insert into public.customers (member_id, name, phone) values ('W-M3', 'Barbara', '+16195550203');
select is(
    (
        select conversion_probability from public.leads
        where phone_number = '+16195550203'
    ), 0.800,
    'when the lead is linked the probability becomes lead_probability_customer'
);

-- The defaults are the settings rows.
update conductor.settings set value = '0.65'
where key = 'lead_probability_customer';
update conductor.settings set value = '0.15'
where key = 'lead_probability_prospect';
insert into public.customers (member_id, name, phone) values ('W-M4', 'Edsger', '+16195550204');
insert into public.leads (phone_number) values ('+16195550204'), ('+16195550205');
select results_eq(
    $$select phone_number, conversion_probability from public.leads
      where phone_number in ('+16195550204', '+16195550205') order by 1$$,
    $$values ('+16195550204'::text, 0.650::numeric), ('+16195550205'::text, 0.150::numeric)$$,
    'probabilities come from lead_probability_customer and lead_probability_prospect'
);

update conductor.settings set value = '1.5'
where key = 'lead_probability_prospect';
select throws_ok(
    $$insert into public.leads (phone_number) values ('+16195550206')$$,
    '22023', null,
    'a probability setting outside 0-1 is refused with 22023'
);
update conductor.settings set value = '"high"'
where key = 'lead_probability_prospect';
select throws_ok(
    $$insert into public.leads (phone_number) values ('+16195550206')$$,
    '22023', 'invalid setting: lead_probability_prospect must be a probability between 0 and 1, not "high"',
    'a probability setting that is not a number is refused naming the setting'
);

select ok(
    not exists (
        select from pg_catalog.pg_proc as p
        where
            p.oid = 'conductor.tg_leads__link_customer()'::regprocedure
            and (p.prosrc ~ '0\.8' or p.prosrc ~ '0\.3')
    ),
    'the linking trigger holds no probability literal'
);

select * from finish();
rollback;
