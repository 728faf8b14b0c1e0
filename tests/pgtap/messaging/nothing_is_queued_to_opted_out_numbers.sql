-- Nothing is ever queued to an opted-out number, whoever tries: public.queue_sms, a plain INSERT
-- (the seeds' n8n flow), any kind of message, any spelling of the number, or an operator
-- requeueing an old message. The error is P0001 and names phone_number.
begin;
select plan(8);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

insert into conductor.opt_outs (phone_number, keyword) values ('+16195550901', 'STOP');

select throws_ok(
    $$select public.queue_sms('+16195550901', 'hello')$$,
    'P0001', 'opted out: phone_number +16195550901 has opted out of SMS; nothing can be queued to it',
    'queue_sms refuses an opted-out number, naming phone_number'
);
select throws_ok(
    $$select public.queue_sms('(619) 555-0901', 'hello', 'marketing')$$,
    'P0001', null, 'whatever the spelling of the number and the kind of message'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status)
      values ('+16195550901', 'hello', 'outbound', 'queued')$$,
    'P0001', null, 'a plain insert is refused too'
);
select throws_ok(
    $$insert into public.messages (phone_number, content, direction, status, message_kind)
      values ('619-555-0901', 'sale!', 'outbound', 'queued', 'marketing')$$,
    'P0001', null, 'and a marketing insert'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195550901'
    ), 0, 'nothing was queued'
);

-- A message that failed before the number opted out cannot be requeued afterwards.
select public.queue_sms('+16195550902', 'before the opt-out') as msg \gset
select message_id as claimed from conductor.bridge_claim_outbound('bridge-a') \gset
select is(
    conductor.bridge_mark_failed('bridge-a', :msg, 'CMS:304', null), 'failed', 'the send failed'
);
insert into conductor.opt_outs (phone_number) values ('+16195550902');
select throws_ok(
    format($$update public.messages set status = 'queued' where id = %s$$, :msg),
    'P0001', null, 'requeueing it to the opted-out number is refused'
);

-- A history row (not queued) may still be recorded.
select lives_ok(
    $$insert into public.messages (phone_number, content, direction, status, sent_at)
      values ('+16195550901', 'imported from the old system', 'outbound', 'sent', now() - interval '1 year')$$,
    'importing history for an opted-out number is not queueing'
);

select * from finish();
rollback;
