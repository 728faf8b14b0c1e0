-- Every change that matters in a lead's life is one row of conductor.lead_events, written per
-- statement: created (with the first status), linked (and from whom when it moves), unlinked,
-- status_changed (old and new). Updates that change none of these record nothing.
begin;
select plan(8);

insert into public.leads (phone_number, source, created_at) values ('+16195550401', 'event', '2026-03-01 17:00+00');
select results_eq(
    $$select e.event, e.occurred_at, e.customer_id, e.new_status, e.conversion_probability
      from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
      where l.phone_number = '+16195550401' order by e.id$$,
    $$values ('created'::text, '2026-03-01 17:00+00'::timestamptz, null::text, 'new'::text, 0.300::numeric)$$,
    'a new lead records created at its created_at with its first status'
);

insert into public.customers (member_id, name, phone) values ('E-M1', 'Frances', '+16195550401');
select results_eq(
    $$select e.event, e.customer_id, e.previous_customer_id, e.old_status, e.new_status
      from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
      where l.phone_number = '+16195550401' and e.event <> 'created' order by e.id$$,
    $$values ('linked'::text, 'E-M1'::text, null::text, null::text, null::text),
             ('status_changed', 'E-M1', null, 'new', 'warm')$$,
    'a customer gaining the phone records linked, then the promotion to warm'
);

update public.leads set last_message = 'thanks', conversation_stage = 'closing'
where phone_number = '+16195550401';
select is(
    (
        select count(*)::integer from conductor.lead_events as e inner join public.leads as l on e.lead_id = l.id
        where l.phone_number = '+16195550401'
    ),
    3, 'an update of other columns records nothing'
);

insert into public.customers (member_id, name, phone) values ('E-M2', 'Ken', '+16195550401');
select results_eq(
    $$select e.event, e.customer_id, e.previous_customer_id
      from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
      where l.phone_number = '+16195550401' order by e.id desc limit 1$$,
    $$values ('linked'::text, 'E-M2'::text, 'E-M1'::text)$$,
    'moving to another customer records linked with the previous customer'
);

update public.customers set phone = null
where member_id in ('E-M1', 'E-M2');
select results_eq(
    $$select e.event, e.customer_id, e.conversion_probability
      from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
      where l.phone_number = '+16195550401' order by e.id desc limit 1$$,
    $$values ('unlinked'::text, 'E-M2'::text, 0.300::numeric)$$,
    'losing the customer records unlinked from it'
);

update public.leads set lead_status = 'lost'
where phone_number = '+16195550401';
select results_eq(
    $$select e.event, e.old_status, e.new_status
      from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
      where l.phone_number = '+16195550401' order by e.id desc limit 1$$,
    $$values ('status_changed'::text, 'warm'::text, 'lost'::text)$$,
    'a workflow status change records old and new status'
);

insert into public.customers (member_id, name, phone) values ('E-M3', 'Anita', '+16195550402');
insert into public.leads (phone_number) values ('+16195550402');
select results_eq(
    $$select e.event from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
      where l.phone_number = '+16195550402' order by e.id$$,
    $$values ('created'::text), ('linked')$$,
    'a lead created for a customer records created and linked'
);

delete from public.leads
where phone_number = '+16195550402';
select is(
    (
        select count(*)::integer from conductor.lead_events as e
        where not exists (
            select from public.leads as l
            where l.id = e.lead_id
        )
    ),
    0, 'a deleted lead takes its history with it'
);

select * from finish();
rollback;
