-- A send whose result nobody reports is outcome_unknown and never resent automatically: after
-- its lease (the pg_cron job conductor_reconcile_stale_sends), at once when its bridge says hello
-- again after a restart, or when the bridge itself reports no final answer. A late answer from
-- the modem may still record it as sent.
begin;
select plan(16);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
    perform conductor.bridge_hello('bridge-b', 'test-pc', '/dev/ttyUSB0', 'test');
    perform conductor.bridge_hello('bridge-c', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

select public.queue_sms('+16195550501', 'crash during send') as stale \gset
select public.queue_sms('+16195550502', 'still in time') as fresh \gset
select public.queue_sms('+16195550503', 'bridge b restarts') as other \gset
select message_id as c1 from conductor.bridge_claim_outbound('bridge-a') \gset
select message_id as c2 from conductor.bridge_claim_outbound('bridge-a') \gset
select message_id as c3 from conductor.bridge_claim_outbound('bridge-b') \gset

update public.messages set lease_expires_at = now() - interval '1 second'
where id = :stale;
select is(conductor.reconcile_stale_sends(), 1, 'reconcile_stale_sends handles the expired lease');
select results_eq(
    format($$select status, error_code, lease_expires_at from public.messages where id = %s$$, :stale),
    $$values ('outcome_unknown'::text, 'lease_expired'::text, null::timestamptz)$$,
    'the expired send is outcome_unknown'
);
select is(
    (
        select status from public.messages
        where id = :fresh
    ), 'sending', 'a send within its lease is left alone'
);
select is_empty(
    $$select * from conductor.bridge_claim_outbound('bridge-c')$$,
    'an outcome_unknown message is never claimed again'
);
select is(conductor.bridge_next_due_at(), null, 'nor waited for');
select is(conductor.reconcile_stale_sends(), 0, 'running it again changes nothing');

select lives_ok(
    format($$select conductor.bridge_mark_sent('bridge-a', %s, 99, 2::smallint)$$, :stale),
    'a late answer from the modem is accepted'
);
select results_eq(
    format($$select status, modem_reference, parts from public.messages where id = %s$$, :stale),
    $$values ('sent'::text, 99, 2::smallint)$$,
    'and records the message sent'
);
select lives_ok(
    format($$select conductor.bridge_mark_sent('bridge-a', %s, 99, 2::smallint)$$, :stale),
    'the same report twice is harmless'
);

select ok(
    (conductor.bridge_hello('bridge-b', 'modem-pc', '/dev/ttyUSB0', '1.0') ? 'lease_seconds'),
    'bridge b says hello after a restart'
);
select results_eq(
    format($$select status, error_code from public.messages where id = %s$$, :other),
    $$values ('outcome_unknown'::text, 'bridge_restarted'::text)$$,
    'what bridge b was sending is outcome_unknown at once'
);
select is(
    (
        select status from public.messages
        where id = :fresh
    ), 'sending', 'another bridge''s send is not touched'
);

select lives_ok(
    format($$select conductor.bridge_mark_unknown('bridge-a', %s, 'timeout after Ctrl-Z')$$, :fresh),
    'the bridge reports a send without a final answer'
);
select results_eq(
    format($$select status, error_code, error_message from public.messages where id = %s$$, :fresh),
    $$values ('outcome_unknown'::text, 'unconfirmed'::text, 'timeout after Ctrl-Z'::text)$$,
    'it is outcome_unknown with the reason'
);
select lives_ok(
    format($$select conductor.bridge_mark_unknown('bridge-a', %s, 'timeout after Ctrl-Z')$$, :fresh),
    'the same report twice is harmless'
);
select lives_ok(
    format($$update public.messages set status = 'queued', next_attempt_at = now() where id = %s$$, :fresh),
    'an operator may decide to resend it'
);

select * from finish();
rollback;
