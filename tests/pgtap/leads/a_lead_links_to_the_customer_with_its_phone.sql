-- Inserting or updating a lead links it to the customer with the same phone: customer_id, the
-- lead_probability_customer setting (0.8) and new promoted to warm; a lead with no customer
-- gets lead_probability_prospect (0.3) and stays new. Several customers on one phone: the most
-- recent visitor, whichever order they were created in.
begin;
select plan(16);

insert into public.customers (member_id, name, phone) values ('L-M1', 'Ada', '(619) 555-0101');

insert into public.leads (phone_number, last_message) values ('619.555.0101', 'are you open?');
select results_eq(
    $$select customer_id, lead_status, conversion_probability from public.leads where phone_number = '+16195550101'$$,
    $$values ('L-M1'::text, 'warm'::text, 0.800::numeric)$$,
    'a lead with a customer''s phone is linked, warm, 0.8'
);

insert into public.leads (phone_number) values ('+16195550102');
select results_eq(
    $$select customer_id, lead_status, conversion_probability from public.leads where phone_number = '+16195550102'$$,
    $$values (null::text, 'new'::text, 0.300::numeric)$$,
    'a lead with an unknown phone is unlinked, new, 0.3'
);

-- customer_id is maintained: a value written by hand is replaced by the phone's customer.
update public.leads set customer_id = 'L-M1'
where phone_number = '+16195550102';
select is(
    (
        select customer_id from public.leads
        where phone_number = '+16195550102'
    ), null,
    'a customer_id that does not match the phone is not kept'
);

-- Changing the lead's phone moves the link.
select throws_ok(
    $$update public.leads set phone_number = '+16195550101' where phone_number = '+16195550102'$$,
    '23505', null,
    'one lead per phone number'
);
delete from public.leads
where phone_number = '+16195550101';
insert into public.leads (phone_number) values ('+16195550103');
update public.leads set phone_number = '+16195550101'
where phone_number = '+16195550103';
select results_eq(
    $$select customer_id, lead_status, conversion_probability from public.leads where phone_number = '+16195550101'$$,
    $$values ('L-M1'::text, 'warm'::text, 0.800::numeric)$$,
    'a lead whose phone changes to a customer''s is linked'
);

-- Two customers share a phone: the one with the most recent visit wins.
insert into public.customers (member_id, name, phone) values
('L-OLD', 'Old visitor', '+16195550110'),
('L-NEW', 'Recent visitor', '+16195550110');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('L-T1', 'L-OLD', now() - interval '40 days', 20),
('L-T2', 'L-NEW', now() - interval '3 days', 20);
insert into public.leads (phone_number) values ('+16195550110');
select is(
    (
        select customer_id from public.leads
        where phone_number = '+16195550110'
    ), 'L-NEW',
    'several customers on one phone: the most recent visitor'
);
select is(
    conductor.customer_for_phone('+16195550110'), 'L-NEW',
    'customer_for_phone applies the same rule'
);

-- The older customer visits today: the lead follows the most recent visitor.
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('L-T3', 'L-OLD', now(), 20);
select is(
    (
        select customer_id from public.leads
        where phone_number = '+16195550110'
    ), 'L-OLD',
    'a new visit by another customer on the phone moves the lead to them'
);

-- No visits at all: the newest customer row wins, deterministically.
insert into public.customers (member_id, name, phone) values
('L-A', 'First', '+16195550120'),
('L-B', 'Second', '+16195550120');
select is(conductor.customer_for_phone('+16195550120'), 'L-B', 'no visits: the newest customer row');

select is(conductor.customer_for_phone('+16195550199'), null, 'no customer on the phone: null');

-- A customer deleted: its lead is unlinked (or relinked to another customer on the phone).
insert into public.customers (member_id, name, phone) values ('L-GONE', 'Leaving', '+16195550130');
insert into public.leads (phone_number, lead_status) values ('+16195550130', 'new');
delete from public.customers
where member_id = 'L-GONE';
select results_eq(
    $$select customer_id, lead_status, conversion_probability from public.leads where phone_number = '+16195550130'$$,
    $$values (null::text, 'warm'::text, 0.300::numeric)$$,
    'a deleted customer unlinks the lead: probability back to 0.3, status is not demoted'
);

insert into public.customers (member_id, name, phone) values
('L-S1', 'Sibling one', '+16195550140'),
('L-S2', 'Sibling two', '+16195550140');
insert into public.leads (phone_number) values ('+16195550140');
select is((
    select customer_id from public.leads
    where phone_number = '+16195550140'
), 'L-S2', 'linked to the newest');
delete from public.customers
where member_id = 'L-S2';
select is(
    (
        select customer_id from public.leads
        where phone_number = '+16195550140'
    ), 'L-S1',
    'a deleted customer hands the lead to the other customer on the phone'
);

-- A renamed member id follows through the foreign key.
update public.customers set member_id = 'L-S1-RENAMED'
where member_id = 'L-S1';
select is(
    (
        select customer_id from public.leads
        where phone_number = '+16195550140'
    ), 'L-S1-RENAMED',
    'a changed member_id follows'
);

select throws_ok(
    $$insert into public.leads (phone_number) values ('555')$$,
    '22023', null,
    'a malformed lead phone is refused with 22023'
);
select is(
    conductor.link_leads(null), 0,
    'link_leads finds nothing to repair when the triggers kept every lead linked'
);

select * from finish();
rollback;
