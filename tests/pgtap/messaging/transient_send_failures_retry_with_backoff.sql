-- A send that did not reach the network with a transient code (and any code the table does not
-- know) goes back to queued after send_backoff_seconds[n], retry_count counts the failures, and
-- after send_max_retries retries the message fails. The same report twice changes nothing.
begin;
select plan(19);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

update conductor.settings set value = '3'
where key = 'send_max_retries';
update conductor.settings set value = '[60, 300, 900]'
where key = 'send_backoff_seconds';

select public.queue_sms('+16195550301', 'try again') as msg \gset
select message_id as claimed from conductor.bridge_claim_outbound('bridge-a') \gset

select is(
    conductor.bridge_mark_failed('bridge-a', :msg, 'CMS:332', 'network timeout'), 'queued',
    'a transient error requeues the message'
);
select results_eq(
    format(
        $$select status, retry_count, error_code, next_attempt_at - now(), lease_expires_at
          from public.messages where id = %s$$, :msg
    ),
    $$values ('queued'::text, 1, 'CMS:332'::text, interval '60 seconds', null::timestamptz)$$,
    'retry 1 waits the first backoff; retry_count, error_code set; the lease is gone'
);
select isnt(
    (
        select last_retry_at from public.messages
        where id = :msg
    ), null, 'last_retry_at is set'
);
select is(
    conductor.bridge_mark_failed('bridge-a', :msg, 'CMS:332', 'network timeout'), 'queued',
    'the same report again returns the same status'
);
select is(
    (
        select retry_count from public.messages
        where id = :msg
    ), 1, 'and counts nothing twice'
);
select is_empty(
    $$select * from conductor.bridge_claim_outbound('bridge-a')$$,
    'the message is not claimed before its backoff ends'
);

update public.messages set next_attempt_at = now()
where id = :msg;
select is(
    (
        select attempt from conductor.bridge_claim_outbound('bridge-a')
    ), 2, 'the second claim is attempt 2'
);
select is(
    conductor.bridge_mark_failed('bridge-a', :msg, 'no_prompt', 'no > prompt'), 'queued',
    'no_prompt is transient'
);
select is(
    (
        select next_attempt_at - now() from public.messages
        where id = :msg
    ), interval '300 seconds', 'retry 2 waits the second backoff'
);

update public.messages set next_attempt_at = now()
where id = :msg;
select is(
    (
        select attempt from conductor.bridge_claim_outbound('bridge-a')
    ), 3, 'attempt 3'
);
select is(
    conductor.bridge_mark_failed('bridge-a', :msg, 'cms: 500', null), 'queued',
    'CMS:500 is transient (codes are read without case or spaces)'
);
select results_eq(
    format($$select error_code, next_attempt_at - now() from public.messages where id = %s$$, :msg),
    $$values ('CMS:500'::text, interval '900 seconds')$$,
    'retry 3 waits the third backoff; the code is stored normalized'
);

update public.messages set next_attempt_at = now()
where id = :msg;
select is(
    (
        select attempt from conductor.bridge_claim_outbound('bridge-a')
    ), 4, 'attempt 4'
);
select is(
    conductor.bridge_mark_failed('bridge-a', :msg, 'port_lost', 'USB port vanished'), 'failed',
    'after send_max_retries retries the message fails'
);
select results_eq(
    format($$select status, retry_count from public.messages where id = %s$$, :msg),
    $$values ('failed'::text, 4)$$,
    'failed after 4 attempts'
);
select matches(
    (
        select error_message from public.messages
        where id = :msg
    ), 'send_max_retries', 'error_message says why it gave up'
);

select public.queue_sms('+16195550302', 'unknown code') as msg2 \gset
select message_id as claimed2 from conductor.bridge_claim_outbound('bridge-a') \gset
select is(
    conductor.bridge_mark_failed('bridge-a', :msg2, 'CME:777', 'vendor error'), 'queued',
    'a code the table does not know is transient'
);
select throws_ok(
    format($$select conductor.bridge_mark_failed('bridge-a', %s, '', 'x')$$, :msg2),
    '22023', null, 'an error code is required'
);
select throws_ok(
    format($$select conductor.bridge_mark_failed('bridge-a', %s, 'CMS:332', 'x')$$, :msg2),
    '55000', null, 'a message that is not being sent cannot fail again'
);

select * from finish();
rollback;
