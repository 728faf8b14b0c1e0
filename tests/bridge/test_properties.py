"""Properties of the whole flow under crashes: while 1,000 messages flow each way (a tenth of
them multipart, some with emoji), the bridge process is killed with SIGKILL at random moments
(or the database restarts at random moments). Afterwards:

- every inbound SMS is stored exactly once (none lost, none twice) and the SIM is empty;
- no outbound SMS was submitted twice (the simulator records every PDU it accepted);
- every outbound message ended sent, failed or outcome_unknown, and each one recorded as sent
  was submitted exactly once, completely.
"""

from __future__ import annotations

import collections
import random
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from conductor_bridge.simulator import ModemSimulator
from tests.bridge.conftest import bridge_command, wait_for

COUNT = 1000
START = datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)


def outbound_text(n: int) -> str:
    # Every part of a long text carries the message number, so equal PDUs mean a double send.
    if n % 25 == 0:
        return f"out {n}: thanks for visiting 🌿 " + " ".join(f"#{n}.{k} see you soon 😀" for k in range(8))
    if n % 10 == 0:
        return f"out {n}: " + " ".join(
            f"#{n}.{k} this week, {{pre-rolls}} and [edibles] 20% off." for k in range(6)
        )
    return f"out {n}: your order is ready"


def inbound_text(n: int) -> str:
    if n % 25 == 0:
        return f"in {n}: " + " ".join(f"#{n}.{k} do you have the 🍫 gummies?" for k in range(6))
    if n % 10 == 0:
        return f"in {n}: " + " ".join(f"#{n}.{k} what time do you close on Sunday?" for k in range(8))
    return f"in {n}: hi there"


def outbound_phone(n: int) -> str:
    return f"+1619555{n % 50:04d}"


def inbound_phone(n: int) -> str:
    return f"+1858555{n % 50:04d}"


def fast_commits(db) -> None:
    """Asynchronous commit for this test database, to keep 2,000 messages within the test
    budget (each commit otherwise waits for a WAL flush). It does not weaken what is proven:
    the database itself never crashes here; it is killed neither in the SIGKILL test (only the
    bridge is) nor in the restart test (a fast shutdown flushes every committed transaction).
    The bridge itself never changes synchronous_commit."""
    db.execute(f'alter database "{db.name}" set synchronous_commit = off')


def load(db, sim: ModemSimulator, numbers: range = range(COUNT)) -> None:
    with db.connect() as conn, conn.cursor() as cur:
        cur.executemany(
            "select public.queue_sms(phone_number => %s, content => %s)",
            [(outbound_phone(n), outbound_text(n)) for n in numbers],
        )
    for n in numbers:
        sim.inject(inbound_phone(n), inbound_text(n), START + timedelta(seconds=n))


def settled(db, sim: ModemSimulator, reconcile: bool = False) -> bool:
    try:
        if reconcile:
            # What the pg_cron job conductor_reconcile_stale_sends does every minute in the cron
            # database: a claim whose answer was lost with the connection (the database went
            # down between COMMIT and the reply) is not left in 'sending' past its lease.
            db.scalar("select conductor.reconcile_stale_sends()")
        stored = db.scalar("select count(*) from public.messages where direction = 'inbound'")
        open_outbound = db.scalar(
            "select count(*) from public.messages"
            " where direction = 'outbound' and status in ('queued', 'sending')"
        )
    except psycopg.OperationalError:
        return False  # the database is restarting
    return stored == COUNT and open_outbound == 0 and not sim.stored() and sim.network_pending() == 0


def flow_state(db, sim: ModemSimulator) -> str:
    """What is still open, for a failure message."""
    try:
        stored = db.scalar("select count(*) from public.messages where direction = 'inbound'")
        outbound = dict(
            db.rows("select status, count(*) from public.messages where direction = 'outbound' group by 1")
        )
    except psycopg.OperationalError as exc:
        return f"database unreachable: {exc}"
    return (
        f"inbound stored {stored}/{COUNT}, outbound {outbound}, on the SIM {len(sim.stored())}, "
        f"network pending {sim.network_pending()}"
    )


def settle_or_explain(db, sim: ModemSimulator, process, timeout: float, reconcile: bool = False) -> None:
    try:
        wait_for(lambda: settled(db, sim, reconcile), timeout=timeout, what="the flow to settle")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {flow_state(db, sim)}\nbridge log:\n{process.log()[-4000:]}") from None


def check_invariants(db, sim: ModemSimulator) -> dict[str, int]:
    # Inbound: every SMS exactly once.
    rows = db.rows(
        "select content, count(*) from public.messages where direction = 'inbound' group by content"
    )
    counts = dict(rows)
    assert len(counts) == COUNT, f"{COUNT - len(counts)} inbound messages lost"
    duplicated = {content: c for content, c in counts.items() if c > 1}
    assert not duplicated, f"inbound stored twice: {list(duplicated)[:3]}"
    assert set(counts) == {inbound_text(n) for n in range(COUNT)}
    assert not sim.stored(), "messages left on the SIM"
    assert sim.bulk_deletes == 0

    # Outbound: nothing submitted twice. Every first part (it names the message) went out once;
    # the bridge sends parts in order, so a part submitted again would show up as a group of
    # parts without its first part.
    firsts = collections.Counter(
        (p.recipient, p.text) for p in sim.sent if p.submit.concat is None or p.submit.concat.sequence == 1
    )
    twice = [key for key, c in firsts.items() if c > 1]
    assert not twice, f"messages submitted twice: {twice[:3]}"
    groups = sim.sent_messages()
    assert all(1 in m.sequences for m in groups), "parts submitted again without their first part"
    assert len(sim.sent) == sum(len(m.sequences) for m in groups)
    submitted = collections.Counter(m.text for m in groups)
    assert all(c == 1 for c in submitted.values())

    # Every outbound message ended; sent means submitted exactly once and completely.
    statuses = dict(
        db.rows("select status, count(*) from public.messages where direction = 'outbound' group by status")
    )
    assert set(statuses) <= {"sent", "failed", "outcome_unknown"}, statuses
    assert sum(statuses.values()) == COUNT
    complete = {m.text for m in sim.sent_messages() if m.complete}
    sent_texts = [r[0] for r in db.rows("select content from public.messages where status = 'sent'")]
    missing = [t for t in sent_texts if t not in complete]
    assert not missing, f"recorded as sent but not (completely) submitted: {missing[:3]}"
    # Messages recorded as failed were certainly not submitted.
    failed = [r[0] for r in db.rows("select content from public.messages where status = 'failed'")]
    assert not [t for t in failed if t in submitted]
    return statuses


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(db, spawn_bridge):
    rng = random.Random(20260701)
    fast_commits(db)
    with ModemSimulator(capacity=30, instant=True, seed=7) as sim:
        load(db, sim)
        kills = 0
        deadline = time.monotonic() + 240
        while not settled(db, sim) and time.monotonic() < deadline:
            process = spawn_bridge(bridge_command(sim.path, db.url))
            if rng.random() < 0.2:
                time.sleep(rng.uniform(0.0, 0.8))  # now and then during start-up
            else:
                wait_for(lambda p=process: "modem ready" in p.log() or p.proc.poll() is not None, timeout=60)
                time.sleep(rng.uniform(0.02, 0.6))  # mostly while messages flow
            if process.proc.poll() is not None:
                raise AssertionError(f"the bridge exited by itself:\n{process.log()[-3000:]}")
            process.kill()
            kills += 1
        killing_s = time.monotonic() - deadline + 240
        # A last clean run settles whatever the final kill left behind.
        process = spawn_bridge(bridge_command(sim.path, db.url))
        wait_for(lambda: "modem ready" in process.log(), timeout=60, what="the last run to start")
        settle_or_explain(db, sim, process, timeout=120)
        assert process.terminate() == 0
        statuses = check_invariants(db, sim)
    assert kills >= 5, "the bridge was not killed often enough to prove anything"
    print(f"\n{kills} kills in {killing_s:.0f} s; outbound {statuses}")


@pytest.mark.slow
def test_database_restarts_at_random_moments_lose_and_duplicate_nothing(db, pg_cluster, spawn_bridge):
    rng = random.Random(20260702)
    fast_commits(db)
    db.execute("update conductor.settings set value = '5' where key = 'send_lease_seconds'")
    with ModemSimulator(capacity=30, instant=True, seed=8) as sim:
        process = spawn_bridge(bridge_command(sim.path, db.url))
        wait_for(lambda: "modem ready" in process.log(), timeout=60, what="the bridge to start")
        restarts = 0
        # Messages arrive in batches; the database restarts while each batch flows.
        batches = 5
        size = COUNT // batches
        for batch in range(batches):
            load(db, sim, range(batch * size, (batch + 1) * size))
            time.sleep(rng.uniform(0.05, 0.5))
            pg_cluster.restart()
            restarts += 1
        settle_or_explain(db, sim, process, timeout=180, reconcile=True)
        assert process.proc.poll() is None, process.log()[-3000:]
        assert process.terminate() == 0
        statuses = check_invariants(db, sim)
        log = process.log()
    assert "database connection lost" in log
    print(f"\n{restarts} database restarts; outbound {statuses}")
