"""What the message flow guarantees across connections: two bridges never claim the same message,
NOTIFY reaches the bridge only at commit, a bridge that dies after its claim leaves the message
outcome_unknown (never resent), an opt-out and a queue insert for one number cannot pass each
other, and the same SMS stored by two connections at once is one row."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

PHONE = "+16195552001"


def _queue(db, count: int, phone_prefix: str = "+1619555") -> list[int]:
    with db.connect() as conn:
        return [
            conn.execute(
                "select public.queue_sms(%s, %s)", (f"{phone_prefix}{3000 + n:04d}", f"message {n}")
            ).fetchone()[0]
            for n in range(count)
        ]


def _say_hello(db, *bridge_ids: str) -> None:
    """Register bridge identities as a starting bridge does (its session ends at once)."""
    with db.connect() as conn:
        for bridge_id in bridge_ids:
            conn.execute("select conductor.bridge_hello(%s, 'pc', '/dev/ttyUSB0', 'test')", (bridge_id,))


def test_two_claimers_never_get_the_same_message(db):
    _say_hello(db, "bridge-a", "bridge-b", "bridge-c", "bridge-d")
    queued = set(_queue(db, 120))

    def drain(bridge_id: str) -> list[int]:
        claimed = []
        with db.connect() as conn:
            while True:
                row = conn.execute(
                    "select message_id from conductor.bridge_claim_outbound(%s)", (bridge_id,)
                ).fetchone()
                if row is None:
                    return claimed
                claimed.append(row[0])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(drain, ["bridge-a", "bridge-b", "bridge-c", "bridge-d"]))

    everything = [message_id for claimed in results for message_id in claimed]
    assert len(everything) == len(set(everything)), "a message was claimed twice"
    assert set(everything) == queued
    assert db.scalar("select count(*) from public.messages where status = 'sending'") == len(queued)


def test_a_claim_skips_a_row_another_claim_holds(db):
    _say_hello(db, "bridge-a", "bridge-b")
    first, second = _queue(db, 2)
    holder = db.connect(autocommit=False)
    other = db.connect(autocommit=False)
    try:
        held = holder.execute(
            "select message_id from conductor.bridge_claim_outbound('bridge-a')"
        ).fetchone()[0]
        assert held == first
        # The holder has not committed: its row is locked. The other bridge must not wait for it.
        other.execute("set local lock_timeout = '5s'")
        got = other.execute("select message_id from conductor.bridge_claim_outbound('bridge-b')").fetchone()[
            0
        ]
        assert got == second
        other.commit()
        holder.rollback()
    finally:
        holder.close()
        other.close()
    # The rolled-back claim leaves its message queued for the next claim.
    assert db.scalar("select status from public.messages where id = %s", (first,)) == "queued"
    assert db.scalar("select message_id from conductor.bridge_claim_outbound('bridge-b')") == first


def test_notify_is_delivered_at_commit_not_before(db):
    listener = db.connect()
    writer = db.connect(autocommit=False)
    try:
        listener.execute("listen conductor_outbound")
        message_id = writer.execute("select public.queue_sms(%s, 'wake up')", (PHONE,)).fetchone()[0]
        assert list(listener.notifies(timeout=0.2, stop_after=1)) == [], "notified before commit"
        writer.commit()
        received = list(listener.notifies(timeout=30, stop_after=1))
        assert [(n.channel, n.payload) for n in received] == [("conductor_outbound", str(message_id))]

        writer.execute("select public.queue_sms(%s, 'never mind')", (PHONE,))
        writer.rollback()
        writer.execute("select public.queue_sms(%s, 'marker')", (PHONE,))
        marker = writer.execute("select max(id) from public.messages").fetchone()[0]
        writer.commit()
        received = list(listener.notifies(timeout=30, stop_after=1))
        assert [n.payload for n in received] == [str(marker)], "a rolled-back queue insert notified"
    finally:
        listener.close()
        writer.close()


def test_a_bridge_that_dies_after_its_claim_leaves_outcome_unknown(db):
    _say_hello(db, "bridge-a", "bridge-b")
    (message_id,) = _queue(db, 1)
    bridge = db.connect()
    pid = bridge.info.backend_pid
    claimed = bridge.execute("select message_id from conductor.bridge_claim_outbound('bridge-a')").fetchone()
    assert claimed == (message_id,)
    # The claim was committed before AT+CMGS; then the bridge process dies without a word.
    db.execute("select pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        bridge.execute("select 1")
    bridge.close()

    assert db.scalar("select conductor.reconcile_stale_sends()") == 0, "the lease has not expired yet"
    assert db.scalar("select status from public.messages where id = %s", (message_id,)) == "sending"

    # The lease runs out (moved into the past rather than waited for).
    db.execute(
        "update public.messages set lease_expires_at = now() - interval '1 second' where id = %s",
        (message_id,),
    )
    assert db.scalar("select conductor.reconcile_stale_sends()") == 1
    assert db.rows("select status, error_code from public.messages where id = %s", (message_id,)) == [
        ("outcome_unknown", "lease_expired")
    ]
    assert db.rows("select * from conductor.bridge_claim_outbound('bridge-b')") == [], "resent after a crash"
    assert db.scalar("select conductor.bridge_next_due_at()") is None


def test_a_restarting_bridge_closes_its_own_open_sends_at_once(db):
    _say_hello(db, "bridge-a")
    (message_id,) = _queue(db, 1)
    db.execute("select conductor.bridge_claim_outbound('bridge-a')")
    hello = db.scalar("select conductor.bridge_hello('bridge-a', 'pc', '/dev/ttyUSB0', 'test')")
    assert hello["notify_channel"] == "conductor_outbound"
    assert db.scalar("select status from public.messages where id = %s", (message_id,)) == "outcome_unknown"
    assert db.rows("select * from conductor.bridge_claim_outbound('bridge-a')") == []


def test_an_opt_out_and_a_queue_insert_cannot_pass_each_other(db):
    _say_hello(db, "bridge-a")
    stopper = db.connect(autocommit=False)
    try:
        stored = stopper.execute(
            "select is_new from conductor.bridge_store_inbound("
            "'bridge-a', %s, 'STOP', now(), 1, 1::smallint)",
            (PHONE,),
        ).fetchone()
        assert stored == (True,)
        # The STOP transaction is still open. A queue insert for the number waits for it...
        outcome: dict[str, object] = {}
        started = threading.Event()

        def queue() -> None:
            with db.connect() as conn:
                conn.execute("set lock_timeout = '60s'")
                started.set()
                try:
                    conn.execute("select public.queue_sms(%s, 'special offer', 'marketing')", (PHONE,))
                    outcome["result"] = "queued"
                except psycopg.Error as error:
                    outcome["result"] = error.sqlstate
                    outcome["message"] = str(error)

        worker = threading.Thread(target=queue)
        worker.start()
        started.wait()
        worker.join(timeout=0.5)
        assert worker.is_alive(), "the queue insert did not wait for the opt-out"
        stopper.commit()
        worker.join(timeout=60)
        assert not worker.is_alive()
    finally:
        stopper.close()
    # ...and once the opt-out commits, it is refused.
    assert outcome["result"] == "P0001"
    assert "phone_number" in outcome["message"]
    assert (
        db.scalar(
            "select count(*) from public.messages where phone_number = %s and direction = 'outbound'",
            (PHONE,),
        )
        == 1
    ), "only the opt-out confirmation is queued"


def test_the_same_sms_stored_by_two_connections_at_once_is_one_row(db):
    _say_hello(db, "bridge-a")
    barrier = threading.Barrier(2)

    def store(_: int) -> bool:
        with db.connect() as conn:
            barrier.wait()
            return conn.execute(
                "select is_new from conductor.bridge_store_inbound("
                "'bridge-a', %s, 'hello twice', '2026-03-01 18:00:00+00', 3, 1::smallint)",
                (PHONE,),
            ).fetchone()[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(store, range(2)))
    assert results == [False, True]
    assert db.scalar("select count(*) from public.messages where content = 'hello twice'") == 1


def test_the_messaging_jobs_are_scheduled(cron_db):
    jobs = dict(
        cron_db.rows(
            "select jobname, schedule from cron.job "
            "where jobname in ('conductor_reconcile_stale_sends', 'conductor_dispatch_campaigns')"
        )
    )
    assert jobs == {
        "conductor_reconcile_stale_sends": "* * * * *",
        "conductor_dispatch_campaigns": "* * * * *",
    }
    assert cron_db.scalar("select conductor.reconcile_stale_sends()") == 0
    assert cron_db.scalar("select conductor.dispatch_campaigns()") == 0
