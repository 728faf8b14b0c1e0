-- The bridge connects as a role granted conductor_bridge: it can call the nine functions of the
-- bridge <-> SQL contract (SECURITY DEFINER, search_path '') and nothing else. bridge_hello
-- returns the operating parameters; bridge_heartbeat keeps conductor.bridge_health.
begin;
select plan(24);

create temporary view contract (signature) as
values
('conductor.bridge_hello(text,text,text,text)'),
('conductor.bridge_store_inbound(text,text,text,timestamp with time zone,integer,smallint,text[])'),
('conductor.bridge_stored_parts(text,text[])'),
('conductor.bridge_claim_outbound(text)'),
('conductor.bridge_next_due_at()'),
('conductor.bridge_mark_sent(text,bigint,integer,smallint)'),
('conductor.bridge_mark_failed(text,bigint,text,text)'),
('conductor.bridge_mark_unknown(text,bigint,text)'),
('conductor.bridge_heartbeat(text,text,text,smallint,text,integer,integer)');

select is(
    (
        select rolcanlogin from pg_catalog.pg_roles
        where rolname = 'conductor_bridge'
    ), false, 'conductor_bridge exists and cannot log in'
);
select ok(has_schema_privilege('conductor_bridge', 'conductor', 'USAGE'), 'it may use schema conductor');
select set_eq(
    $$select p.oid::regprocedure::text from pg_catalog.pg_proc as p
      where p.pronamespace in ('conductor'::regnamespace, 'public'::regnamespace)
        and has_function_privilege('conductor_bridge', p.oid, 'EXECUTE')
        and not exists (select from pg_catalog.pg_depend as d where d.objid = p.oid and d.deptype = 'e')$$,
    $$select signature from contract$$,
    'it can execute exactly the contract functions'
);
select is_empty(
    $$select c.signature from contract as c
      join pg_catalog.pg_proc as p on p.oid = c.signature::regprocedure
      where not p.prosecdef or not p.proconfig @> array['search_path=pg_catalog, pg_temp']$$,
    'each is security definer with search_path pinned to pg_catalog, pg_temp'
);
select is_empty(
    $$select c.oid::regclass::text from pg_catalog.pg_class as c
      where c.relnamespace in ('conductor'::regnamespace, 'public'::regnamespace) and c.relkind in ('r', 'p', 'v', 'm')
        and has_table_privilege('conductor_bridge', c.oid, 'SELECT, INSERT, UPDATE, DELETE')$$,
    'it can read or write no table directly'
);

create role conductor_test_bridge login in role conductor_bridge;
set local role conductor_test_bridge;
select ok(
    conductor.bridge_hello('pc-1:/dev/ttyUSB0', 'pc-1', '/dev/ttyUSB0', '1.2.3') is not null,
    'a role granted conductor_bridge says hello'
);
select throws_ok('select count(*) from public.messages', '42501', null, 'but cannot read messages');
select throws_ok('select conductor.reconcile_stale_sends()', '42501', null, 'nor call other functions');
select is(
    (
        select is_new from conductor.bridge_store_inbound(
            'pc-1:/dev/ttyUSB0', '+16195551401', 'hi', now(), 1, 1::smallint
        )
    ), true, 'it stores an inbound message'
);
select is_empty($$select * from conductor.bridge_claim_outbound('pc-1:/dev/ttyUSB0')$$, 'and claims');
select lives_ok(
    $$select conductor.bridge_heartbeat('pc-1:/dev/ttyUSB0', 'ready', 'SIM7600', 21::smallint, null, 3, 2)$$,
    'and beats'
);
reset role;

select results_eq(
    $$select jsonb_object_keys(conductor.bridge_hello('pc-1:/dev/ttyUSB0', 'pc-1', '/dev/ttyUSB0', '1.2.3'))
      order by 1$$,
    $$values ('lease_seconds'::text), ('multipart_timeout_seconds'), ('notify_channel'), ('package_version'),
             ('poll_seconds')$$,
    'bridge_hello returns the contract keys'
);
select is(
    conductor.bridge_hello('pc-1:/dev/ttyUSB0', 'pc-1', '/dev/ttyUSB0', '1.2.3') ->> 'package_version',
    (
        select version from conductor.installed_versions
        order by installed_at desc limit 1
    ),
    'package_version is the installed version'
);
select is(
    (conductor.bridge_hello('pc-1:/dev/ttyUSB0', 'pc-1', '/dev/ttyUSB0', '1.2.3') ->> 'lease_seconds')::integer,
    (
        select (value #>> '{}')::integer from conductor.settings
        where key = 'send_lease_seconds'
    ),
    'lease_seconds is the send_lease_seconds setting'
);
select results_eq(
    $$select hostname, port, bridge_version, started_at, messages_received, messages_sent
      from conductor.bridge_health where bridge_id = 'pc-1:/dev/ttyUSB0'$$,
    $$values ('pc-1'::text, '/dev/ttyUSB0'::text, '1.2.3'::text, now(), 0::bigint, 0::bigint)$$,
    'hello registers the bridge and starts its counters from zero'
);

select lives_ok(
    $$select conductor.bridge_heartbeat('pc-1:/dev/ttyUSB0', 'ready', 'SIM7600', 21::smallint, null, 3, 2)$$,
    'a heartbeat'
);
select lives_ok(
    $$select conductor.bridge_heartbeat('pc-1:/dev/ttyUSB0', 'no_answer', null, 99::smallint, 'modem silent', 1, 0)$$,
    'another heartbeat, with an error'
);
select results_eq(
    $$select modem_state, modem_model, signal_quality, messages_received, messages_sent, last_error,
             last_error_at, last_seen_at
      from conductor.bridge_health where bridge_id = 'pc-1:/dev/ttyUSB0'$$,
    $$values ('no_answer'::text, 'SIM7600'::text, 99::smallint, 4::bigint, 2::bigint, 'modem silent'::text,
              now(), now())$$,
    'the counters grow by the deltas; state, signal and the last error are kept'
);
select throws_ok(
    $$select conductor.bridge_heartbeat('pc-1:/dev/ttyUSB0', 'ready', null, 20::smallint, null, -1, 0)$$,
    '22023', null, 'a negative delta is refused'
);
select throws_ok(
    $$select conductor.bridge_heartbeat('new-bridge', 'ready', null, 20::smallint, null, 0, 0)$$,
    '55000', 'p_bridge_id: bridge "new-bridge" has not said hello',
    'a heartbeat under an identity that never said hello is refused'
);
select throws_ok(
    $$select * from conductor.bridge_claim_outbound('new-bridge')$$,
    '55000', 'p_bridge_id: bridge "new-bridge" has not said hello',
    'a claim under an identity that never said hello is refused'
);
select throws_ok(
    $$select * from conductor.bridge_store_inbound('new-bridge', '+16195550100', 'hi', now(), 1, 1::smallint)$$,
    '55000', 'p_bridge_id: bridge "new-bridge" has not said hello',
    'storing an inbound SMS under an identity that never said hello is refused'
);
select throws_ok(
    $$select * from conductor.bridge_claim_outbound(repeat('x', 100000))$$,
    '22023', null, 'a 100,000-character bridge identity is refused before any lookup'
);
select is(
    (
        select count(*) from conductor.bridge_health
        where bridge_id = 'new-bridge'
    ),
    0::bigint,
    'the refused calls registered nothing'
);

select * from finish();
rollback;
