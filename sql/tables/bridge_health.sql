-- Health of each running modem bridge, written by the bridge through conductor.bridge_hello and
-- conductor.bridge_heartbeat.
select pg_temp.claim_table('conductor', 'bridge_health');
create table if not exists conductor.bridge_health (
    bridge_id text not null,
    hostname text,
    port text,
    bridge_version text,
    started_at timestamptz,
    last_seen_at timestamptz not null default now(),
    modem_state text,
    modem_model text,
    signal_quality smallint,
    messages_received bigint not null default 0,
    messages_sent bigint not null default 0,
    last_error text,
    last_error_at timestamptz,
    constraint bridge_health_pkey primary key (bridge_id)
);
alter table conductor.bridge_health enable row level security;
comment on table conductor.bridge_health is 'Last known state of each modem bridge.';
comment on column conductor.bridge_health.bridge_id is 'Bridge identity (hostname:port unless configured).';
comment on column conductor.bridge_health.hostname is 'Host the bridge runs on.';
comment on column conductor.bridge_health.port is 'Serial port.';
comment on column conductor.bridge_health.bridge_version is 'Version of the bridge program.';
comment on column conductor.bridge_health.started_at is 'When the bridge process started.';
comment on column conductor.bridge_health.last_seen_at is 'Last heartbeat.';
comment on column conductor.bridge_health.modem_state is 'ready, no_answer, port_missing, sim_error, ...';
comment on column conductor.bridge_health.modem_model is 'Modem identification (AT+CGMM).';
comment on column conductor.bridge_health.signal_quality is 'RSSI from AT+CSQ (0-31, 99 unknown).';
comment on column conductor.bridge_health.messages_received is 'Inbound messages stored since start (the bridge reports deltas).';
comment on column conductor.bridge_health.messages_sent is 'Outbound messages sent since start (the bridge reports deltas).';
comment on column conductor.bridge_health.last_error is 'Last error seen.';
comment on column conductor.bridge_health.last_error_at is 'When it was seen.';
