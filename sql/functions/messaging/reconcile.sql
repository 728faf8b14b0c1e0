-- Sends whose outcome nobody will report: a bridge that crashed (or lost its port or database)
-- after claiming a message and before recording the modem's answer. The message may or may not
-- have reached the network, so it becomes outcome_unknown and is never resent automatically
-- (Gammu resends here and duplicates). Run every minute by pg_cron (conductor_reconcile_stale_sends)
-- for expired leases, and by conductor.bridge_hello for the restarting bridge's own rows.
-- Writes: public.messages.

create function conductor.mark_sends_unknown(p_bridge_id text, p_error_code text, p_error_message text)
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_count integer;
begin
    update public.messages as m
    set
        status = 'outcome_unknown',
        error_code = p_error_code,
        error_message = p_error_message
    where m.status = 'sending'
        and m.direction = 'outbound'
        and (
            (p_bridge_id is null and m.lease_expires_at < pg_catalog.now())
            or m.claimed_by = p_bridge_id
        );
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function conductor.mark_sends_unknown(text, text, text) is
'Turns sends left open into outcome_unknown: those claimed by p_bridge_id, or (p_bridge_id null) those '
'whose lease expired. Returns how many.';

create function conductor.reconcile_stale_sends()
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor reconcile_stale_sends')) then
        return 0;
    end if;
    return conductor.mark_sends_unknown(
        null, 'lease_expired',
        'the bridge did not report the result before the lease expired; not resent automatically'
    );
end
$$;
comment on function conductor.reconcile_stale_sends() is
'pg_cron job conductor_reconcile_stale_sends: outbound messages still sending after their lease become '
'outcome_unknown (never resent automatically). Advisory-locked; returns how many.';
