-- n8n writes public.leads and public.customers as service_role, which cannot reach the conductor
-- schema: the linking and history triggers run as their owner (security definer, search_path
-- pg_catalog, pg_temp), so its plain updates and deletes still link, promote and record events.
begin;
select plan(11);

select is_empty(
    $$select p.oid::regprocedure::text from pg_catalog.pg_proc as p
      where p.oid in (
          'conductor.tg_leads__link_customer()'::regprocedure,
          'conductor.tg_leads__record_events()'::regprocedure,
          'conductor.tg_customers__link_leads()'::regprocedure
      )
        and not (p.prosecdef and p.proconfig @> array['search_path=pg_catalog, pg_temp'])$$,
    'the lead triggers are security definer with search_path pg_catalog, pg_temp'
);

insert into public.customers (member_id, name, phone) values
('SR-M1', 'Ada', '+16195551901'),
('SR-M2', 'Grace', '+16195551902');
insert into public.leads (phone_number) values ('+16195551901'), ('+16195551902');

set local role service_role;
select lives_ok(
    $$update public.leads set lead_status = 'hot', conversation_stage = 'asked for prices'
      where phone_number = '+16195551901'$$,
    'service_role updates a lead'
);
select lives_ok(
    $$update public.leads set lead_status = 'new' where phone_number = '+16195551902'$$,
    'service_role sets a linked lead back to new'
);
select lives_ok(
    $$update public.customers set name = 'Ada L.' where member_id = 'SR-M1'$$,
    'service_role updates a customer'
);
select lives_ok(
    $$delete from public.customers where member_id = 'SR-M1'$$,
    'service_role deletes a customer'
);
select lives_ok(
    $$insert into public.leads (phone_number, last_message) values ('(619) 555-1903', 'hi, from a web form')$$,
    'service_role inserts a lead'
);
reset role;
select results_eq(
    $$select customer_id, lead_status, conversion_probability from public.leads where phone_number = '+16195551903'$$,
    $$values (null::text, 'new'::text, 0.300::numeric)$$,
    'the lead service_role inserted is normalized, new, with the prospect probability'
);
insert into public.customers (member_id, name, phone) values ('SR-M3', 'Linus', '619-555-1903');
set local role service_role;
select lives_ok(
    $$update public.customers set name = 'Linus T.' where member_id = 'SR-M3'$$,
    'service_role updates the customer who gained that phone'
);
reset role;
select results_eq(
    $$select customer_id, lead_status, conversion_probability from public.leads where phone_number = '+16195551903'$$,
    $$values ('SR-M3'::text, 'warm'::text, 0.800::numeric)$$,
    'and the lead is linked'
);

select results_eq(
    $$select phone_number, customer_id, lead_status, conversion_probability
      from public.leads where phone_number in ('+16195551901', '+16195551902') order by 1$$,
    $$values ('+16195551901'::text, null::text, 'hot'::text, 0.300::numeric),
             ('+16195551902', 'SR-M2', 'warm', 0.800)$$,
    'the rules applied: the status set is kept, new on a linked lead is warm, the deleted customer unlinked'
);
select results_eq(
    $$select e.event from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
      where l.phone_number = '+16195551901' order by e.id$$,
    $$values ('created'::text), ('linked'), ('status_changed'), ('unlinked')$$,
    'and the history was recorded'
);

select * from finish();
rollback;
