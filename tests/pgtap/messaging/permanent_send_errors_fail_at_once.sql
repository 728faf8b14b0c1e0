-- Codes conductor.send_error_codes marks permanent (invalid PDU, unknown SMSC address, encoding
-- impossible, barred or unassigned numbers) fail the message at the first attempt; the research's
-- transient classes (no network, network timeout, unknown error, SIM busy) are retried.
begin;
select plan(12);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

select results_eq(
    $$select code, is_permanent from conductor.send_error_codes
      where code in ('CMS:304', 'CMS:330', 'CMS:331', 'CMS:332', 'CMS:500', 'encode_error', 'no_prompt', 'port_lost')
      order by code$$,
    $$values ('CMS:304'::text, true), ('CMS:330', true), ('CMS:331', false), ('CMS:332', false),
             ('CMS:500', false), ('encode_error', true), ('no_prompt', false), ('port_lost', false)$$,
    'the classification of the codes the bridge reports'
);

create temporary table outcomes (code text, status text, retry_count integer) on commit drop;

do $$
declare
    v_code text;
    v_id bigint;
    v_status text;
begin
    foreach v_code in array array['CMS:304', 'CMS:330', 'encode_error', 'CMS:1', 'CMS:331', 'CME:14'] loop
        v_id := public.queue_sms('+16195550401', 'code ' || v_code);
        perform conductor.bridge_claim_outbound('bridge-a');
        v_status := conductor.bridge_mark_failed('bridge-a', v_id, v_code, 'modem said ' || v_code);
        insert into outcomes
        select v_code, v_status, m.retry_count from public.messages as m
        where m.id = v_id;
    end loop;
end
$$;

select is(
    (
        select status from outcomes
        where code = 'CMS:304'
    ), 'failed', 'CMS:304 (invalid PDU mode parameter) fails at once'
);
select is(
    (
        select status from outcomes
        where code = 'CMS:330'
    ), 'failed', 'CMS:330 (SMSC address unknown) fails at once'
);
select is(
    (
        select status from outcomes
        where code = 'encode_error'
    ), 'failed', 'encode_error fails at once'
);
select is(
    (
        select status from outcomes
        where code = 'CMS:1'
    ), 'failed', 'CMS:1 (unassigned number) fails at once'
);
select is(
    (
        select retry_count from outcomes
        where code = 'CMS:304'
    ), 1, 'a permanent failure is one attempt'
);
select is(
    (
        select status from outcomes
        where code = 'CMS:331'
    ), 'queued', 'CMS:331 (no network service) is retried'
);
select is(
    (
        select status from outcomes
        where code = 'CME:14'
    ), 'queued', 'CME:14 (SIM busy) is retried'
);
select is(
    (
        select error_message from public.messages
        where content = 'code CMS:304'
    ), 'modem said CMS:304 - permanent error', 'error_message keeps the modem''s words and the verdict'
);

-- An owner may reclassify a code: the table is data.
update conductor.send_error_codes set is_permanent = true
where code = 'CMS:331';
select public.queue_sms('+16195550402', 'reclassified') as msg \gset
select message_id as claimed from conductor.bridge_claim_outbound('bridge-a') \gset
select is(
    conductor.bridge_mark_failed('bridge-a', :msg, 'CMS:331', null), 'failed',
    'a code made permanent in the table fails at once'
);
select throws_ok(
    format($$select conductor.bridge_mark_sent('bridge-a', %s, 5, 1::smallint)$$, :msg),
    '55000', null, 'a failed message cannot then be reported sent'
);
select is(
    (
        select status from public.messages
        where id = :msg
    ), 'failed', 'it stays failed'
);

select * from finish();
rollback;
