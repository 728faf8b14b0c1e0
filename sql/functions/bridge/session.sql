-- The modem bridge's session with the database: bridge_hello at start (registers the bridge,
-- closes what its previous run left open, returns the operating parameters) and
-- bridge_heartbeat (health and counters). Part of the bridge <-> SQL contract: the bridge calls
-- only conductor.bridge_* functions, as a role granted conductor_bridge, and every one of them
-- but bridge_hello refuses an identity that never said hello.
-- Reads: conductor.installed_versions, conductor.settings. Writes: conductor.bridge_health,
-- public.messages.

create function conductor.require_bridge_id(p_bridge_id text)
returns text
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_bridge_id is null or btrim(p_bridge_id) = '' then
        raise exception 'p_bridge_id: a bridge identity is required' using errcode = '22023';
    elsif length(p_bridge_id) > 200 or p_bridge_id ~ '[[:cntrl:]]' then
        raise exception 'p_bridge_id: % is not a bridge identity (at most 200 printable characters)',
            conductor.error_excerpt(p_bridge_id)
            using errcode = '22023',
                  hint = 'The bridge uses <hostname>:<port> unless --bridge-id says otherwise.';
    end if;
    return p_bridge_id;
end
$$;
comment on function conductor.require_bridge_id(text) is
'Raises 22023 naming p_bridge_id when it is empty, longer than 200 characters or holds control characters.';

create function conductor.require_registered_bridge(p_bridge_id text)
returns text
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.require_bridge_id(p_bridge_id);
    if not exists (select from conductor.bridge_health as h where h.bridge_id = p_bridge_id) then
        raise exception 'p_bridge_id: bridge % has not said hello', conductor.error_excerpt(p_bridge_id)
            using errcode = '55000',
                  hint = 'Call conductor.bridge_hello with this identity before any other bridge function.';
    end if;
    return p_bridge_id;
end
$$;
comment on function conductor.require_registered_bridge(text) is
'Like conductor.require_bridge_id, and raises 55000 naming p_bridge_id unless that identity has '
'registered through conductor.bridge_hello.';

create function conductor.bridge_hello(p_bridge_id text, p_hostname text, p_port text, p_bridge_version text)
returns jsonb
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_version text;
    v_holder integer;
begin
    perform conductor.require_bridge_id(p_bridge_id);

    -- One live session per bridge identity, held until the connection ends. A killed bridge's
    -- backend may still be finishing a claim when its successor says hello: waiting for its lock
    -- means that claim is committed (and closed below) or rolled back before anything else runs.
    for i in 1..100 loop
        exit when pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('conductor bridge ' || p_bridge_id));
        if i = 100 then
            select l.pid into v_holder
            from pg_catalog.pg_locks as l
            where
                l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.database = (
                    select d.oid from pg_catalog.pg_database as d where d.datname = pg_catalog.current_database()
                )
                and l.objid::bigint = pg_catalog.hashtext('conductor bridge ' || p_bridge_id)::bigint & 4294967295
            limit 1;
            raise exception 'p_bridge_id: bridge % is still connected in another session (backend pid %)',
                p_bridge_id, coalesce(v_holder::text, 'unknown')
            using
                errcode = '55P03',
                hint = 'Two bridges must not share an identity; a dead session goes away when the server '
                || 'notices its connection is gone.';
        end if;
        perform pg_catalog.pg_sleep(0.05);
    end loop;

    select v.version into v_version
    from conductor.installed_versions as v
    order by v.installed_at desc, v.version desc
    limit 1;

    insert into conductor.bridge_health as h (
        bridge_id, hostname, port, bridge_version, started_at, last_seen_at, messages_received, messages_sent
    )
    values (p_bridge_id, p_hostname, p_port, p_bridge_version, pg_catalog.now(), pg_catalog.now(), 0, 0)
    on conflict (bridge_id) do update
        set
            hostname = excluded.hostname,
            port = excluded.port,
            bridge_version = excluded.bridge_version,
            started_at = excluded.started_at,
            last_seen_at = excluded.last_seen_at,
            messages_received = 0,
            messages_sent = 0;

    -- Whatever this bridge was sending when its previous run ended may or may not have gone out.
    perform conductor.mark_sends_unknown(
        p_bridge_id, 'bridge_restarted',
        'the bridge restarted while sending; not resent automatically'
    );

    return pg_catalog.jsonb_build_object(
        'package_version', v_version,
        'notify_channel', conductor.outbound_notify_channel(),
        'lease_seconds', (conductor.setting('send_lease_seconds') #>> '{}')::integer,
        'multipart_timeout_seconds', (conductor.setting('bridge_multipart_timeout_seconds') #>> '{}')::integer,
        'poll_seconds', (conductor.setting('bridge_poll_seconds') #>> '{}')::integer
    );
end
$$;
comment on function conductor.bridge_hello(text, text, text, text) is
'Bridge start: takes the bridge identity''s session advisory lock (waits up to 5 s for a previous '
'session to end, then raises 55P03), registers the bridge in conductor.bridge_health (started_at, '
'counters reset), turns its messages left in sending into outcome_unknown, and returns {package_version, notify_channel, '
'lease_seconds, multipart_timeout_seconds, poll_seconds}.';

create function conductor.bridge_heartbeat(
    p_bridge_id text,
    p_modem_state text,
    p_modem_model text,
    p_signal_quality smallint,
    p_last_error text,
    p_received_delta integer,
    p_sent_delta integer
)
returns void
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    perform conductor.require_registered_bridge(p_bridge_id);
    if coalesce(p_received_delta, 0) < 0 then
        raise exception 'p_received_delta: must not be negative, got %', p_received_delta using errcode = '22023';
    end if;
    if coalesce(p_sent_delta, 0) < 0 then
        raise exception 'p_sent_delta: must not be negative, got %', p_sent_delta using errcode = '22023';
    end if;
    insert into conductor.bridge_health as h (
        bridge_id, last_seen_at, modem_state, modem_model, signal_quality, messages_received, messages_sent,
        last_error, last_error_at
    )
    values (
        p_bridge_id, pg_catalog.now(), p_modem_state, p_modem_model, p_signal_quality,
        coalesce(p_received_delta, 0), coalesce(p_sent_delta, 0), p_last_error,
        case when p_last_error is not null then pg_catalog.now() end
    )
    on conflict (bridge_id) do update
        set
            last_seen_at = excluded.last_seen_at,
            modem_state = excluded.modem_state,
            modem_model = coalesce(excluded.modem_model, h.modem_model),
            signal_quality = excluded.signal_quality,
            messages_received = h.messages_received + excluded.messages_received,
            messages_sent = h.messages_sent + excluded.messages_sent,
            -- The last error stays until a different one is reported; its time is when it first appeared.
            last_error = coalesce(excluded.last_error, h.last_error),
            last_error_at = case
                when excluded.last_error is not null and excluded.last_error is distinct from h.last_error
                    then excluded.last_error_at
                else h.last_error_at
            end;
end
$$;
comment on function conductor.bridge_heartbeat(text, text, text, smallint, text, integer, integer) is
'Bridge heartbeat: last_seen_at, modem state, model, signal and last error in conductor.bridge_health; '
'the received and sent counters grow by the deltas (22023 when negative).';
