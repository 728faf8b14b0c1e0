"""Figure 5: the modem bridge against the modem simulator in instant mode (no network delays).

The simulator runs in this process on a pseudo-terminal; the bridge runs as its own process,
exactly as systemd would start it (`python -m conductor_bridge --port <pty> ...`), against the
loaded database. Clocks: the simulator stamps what crosses the wire with time.time(), and the
database's commit timestamps (track_commit_timestamp, taken when a commit starts, before its WAL
flush) read the same system clock.

- Outbound latency: from the commit of the transaction that queued the message with
  public.queue_sms until its PDU was submitted after AT+CMGS on the wire; one message at a time,
  so nothing waits behind another. Counting from the commit's start includes its WAL flush.
- Inbound latency: from the +CMTI notice on the wire until the bridge deletes the SIM copy
  (AT+CMGD), which it does only after the row's commit returned; one at a time.
- Throughput: a burst of messages queued in one transaction until the last one is on the wire;
  a burst delivered by the network at once until the last SIM copy is deleted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench import package, stats
from conductor_dev.localdb import Cluster

READY_TIMEOUT = 60.0
# Longer than the bridge's default backstop poll (bridge_poll_seconds, 30 s): a message that
# waits for the poll instead of its NOTIFY is measured, not given up on.
STEP_TIMEOUT = 120.0
# The smoke test (--quick) does not measure speed; it bounds such waits with a short poll.
QUICK_POLL_SECONDS = "1"
SLOW_MS = 1000.0


def _simulator_class():
    try:
        from conductor_bridge.simulator import ModemSimulator
    except ImportError as exc:
        raise package.Missing("the modem simulator (conductor_bridge.simulator) is not installed") from exc

    class TimedSimulator(ModemSimulator):
        """The project's simulator, also noting when each +CMTI notice goes onto the wire."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.cmti_at: list[float] = []
            self.deleted_at: list[float] = []

        def _emit(self, data: bytes, delay: float = 0.0) -> None:
            if b"+CMTI:" in data and delay == 0:
                self.cmti_at.append(time.time())
            super()._emit(data, delay)

        def _cmgd(self, index: int, flag: int):
            before = len(self.deleted)
            answer = super()._cmgd(index, flag)
            self.deleted_at.extend([time.time()] * (len(self.deleted) - before))
            return answer

    return TimedSimulator


def _wait(condition, timeout: float, what: str, bridge: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if bridge.poll() is not None:
            raise RuntimeError(f"the bridge exited ({bridge.returncode}) while {what}: {_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s {what}: {_tail(log_path)}")
        time.sleep(0.0005)


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text().strip().splitlines()[-lines:])
    except OSError:
        return ""


def _commit_times(conn: psycopg.Connection, prefix: str) -> dict[str, float]:
    rows = conn.execute(
        """
        select content, extract(epoch from pg_xact_commit_timestamp(xmin))::float8
        from public.messages
        where content like %s
        """,
        (prefix + "%",),
    ).fetchall()
    return {content: at for content, at in rows}


def _xact_commit_times(conn: psycopg.Connection, xids: dict[str, str]) -> dict[str, float]:
    """When each of these transactions committed (epoch seconds)."""
    keys = list(xids)
    rows = conn.execute(
        "select k, extract(epoch from pg_xact_commit_timestamp(x::xid))::float8 "
        "from unnest(%s::text[], %s::text[]) as u (k, x)",
        (keys, [xids[k] for k in keys]),
    ).fetchall()
    return {k: at for k, at in rows if at is not None}


def _summary(latencies_ms: list[float], count: int, seconds: float) -> dict:
    return {
        "messages": len(latencies_ms),
        "over_1s": sum(1 for v in latencies_ms if v > SLOW_MS),
        "p50_ms": stats.percentile(latencies_ms, 50),
        "p99_ms": stats.percentile(latencies_ms, 99),
        "max_ms": max(latencies_ms),
        "burst": count,
        "burst_seconds": seconds,
        "per_second": count / seconds if seconds > 0 else float("inf"),
    }


def run(cluster: Cluster, dbname: str, messages: int, quick: bool) -> dict:
    simulator_class = _simulator_class()
    url = cluster.url(dbname)
    with psycopg.connect(url, autocommit=True) as conn:
        package.require_named(conn, "public.queue_sms")
        package.require_named(conn, "conductor.bridge_store_inbound")
    # Numbers of their own (the generator never uses exchange 555): none has opted out, none
    # carries the demo data's message history, so every message takes the plain path.
    phones = [f"+1619555{n:04d}" for n in range(100, 300)]

    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"conductor-bench-bridge-{os.getpid()}.log"
    sim = simulator_class(instant=True, capacity=30, seed=5).start()
    try:
        with open(log_path, "w") as log_file:
            bridge = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conductor_bridge",
                    "--port",
                    sim.path,
                    "--database-url",
                    url,
                    "--bridge-id",
                    "bench",
                    "--log-level",
                    "warning",
                    *(["--poll-seconds", QUICK_POLL_SECONDS] if quick else []),
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            return _measure(sim, bridge, url, phones, messages, log_path)
        finally:
            bridge.terminate()
            try:
                bridge.wait(timeout=15)
            except subprocess.TimeoutExpired:
                bridge.kill()
                bridge.wait()
    finally:
        sim.stop()
        log_path.unlink(missing_ok=True)


def _measure(
    sim, bridge: subprocess.Popen, url: str, phones: list[str], messages: int, log_path: Path
) -> dict:
    # Ready: the modem is initialised (new-message notices on) and the first SIM scan is done.
    _wait(
        lambda: (
            any(c.upper().startswith("AT+CNMI=") for c in sim.commands)
            and any(c.upper().startswith("AT+CMGL") for c in sim.commands)
        ),
        READY_TIMEOUT,
        "waiting for the bridge to initialise the modem",
        bridge,
        log_path,
    )
    time.sleep(0.2)
    result: dict = {}
    with psycopg.connect(url, autocommit=True) as conn:
        # -- outbound, one at a time -------------------------------------------------------------
        # Timed from the queueing transaction's own commit (the row's xmin changes once the
        # bridge claims and updates it).
        queued_by: dict[str, str] = {}
        for i in range(messages):
            marker = f"bench out {i:06d}"
            before = len(sim.sent)
            queued_by[marker] = conn.execute(
                "select pg_current_xact_id()::xid::text "
                "from public.queue_sms(phone_number => %s, content => %s) as q",
                (phones[i % len(phones)], marker),
            ).fetchone()[0]
            _wait(
                lambda before=before: len(sim.sent) > before,
                STEP_TIMEOUT,
                f"sending {marker}",
                bridge,
                log_path,
            )
        committed = _xact_commit_times(conn, queued_by)
        wire = {p.text: p.at for p in sim.sent if p.text.startswith("bench out ")}
        latencies = [(wire[m] - committed[m]) * 1000 for m in committed if m in wire]
        # -- outbound burst: queued in one transaction ---------------------------------------
        before = len(sim.sent)
        with conn.transaction():
            for i in range(messages):
                conn.execute(
                    "select public.queue_sms(phone_number => %s, content => %s)",
                    (phones[i % len(phones)], f"bench burst {i:06d}"),
                )
            burst_xid = conn.execute("select pg_current_xact_id()::xid::text").fetchone()[0]
        _wait(
            lambda: len(sim.sent) >= before + messages,
            STEP_TIMEOUT + messages * 0.1,
            "sending the outbound burst",
            bridge,
            log_path,
        )
        burst_committed = _xact_commit_times(conn, {"burst": burst_xid})["burst"]
        last_on_wire = max(p.at for p in sim.sent[before:])
        result["outbound"] = _summary(latencies, messages, last_on_wire - burst_committed)

        # -- inbound, one at a time -------------------------------------------------------------
        # The bridge deletes a message from the SIM only after its row committed, so a deletion
        # is the signal to go on (watching the simulator costs the database nothing).
        notices: dict[str, float] = {}
        deleted_at: dict[str, float] = {}
        for i in range(messages):
            marker = f"bench in {i:06d}"
            seen, deleted = len(sim.cmti_at), _deleted(sim)
            sim.inject(phones[i % len(phones)], marker)
            _wait(
                lambda seen=seen: len(sim.cmti_at) > seen,
                STEP_TIMEOUT,
                f"notice for {marker}",
                bridge,
                log_path,
            )
            notices[marker] = sim.cmti_at[seen]
            _wait(lambda d=deleted: _deleted(sim) > d, STEP_TIMEOUT, f"storing {marker}", bridge, log_path)
            deleted_at[marker] = sim.deleted_at[deleted]
        # The row is committed when the bridge deletes the SIM copy (it does so only after its
        # commit returned): the deletion on the wire bounds "committed" from above. The commit
        # record's own timestamp (taken before the WAL flush) is kept in the JSON too.
        committed = _committed(conn, "bench in ", messages)
        latencies = [(deleted_at[m] - notices[m]) * 1000 for m in notices]
        commit_record_ms = [(committed[m] - notices[m]) * 1000 for m in notices if m in committed]
        # -- inbound burst: the network delivers them all at once ---------------------------
        first_notice_index, deleted = len(sim.cmti_at), _deleted(sim)
        for i in range(messages):
            sim.inject(phones[i % len(phones)], f"bench inburst {i:06d}")
        _wait(
            lambda: _deleted(sim) >= deleted + messages,
            STEP_TIMEOUT + messages * 0.1,
            "storing the inbound burst",
            bridge,
            log_path,
        )
        _committed(conn, "bench inburst ", messages)
        first_notice = sim.cmti_at[first_notice_index]
        result["inbound"] = _summary(latencies, messages, max(sim.deleted_at[deleted:]) - first_notice)
        result["inbound"]["to_commit_record_p50_ms"] = stats.percentile(commit_record_ms, 50)
        result["inbound"]["to_commit_record_p99_ms"] = stats.percentile(commit_record_ms, 99)
    result["sent_total"] = len(sim.sent)
    return result


def _deleted(sim) -> int:
    return len(sim.deleted)


def _committed(conn: psycopg.Connection, prefix: str, expected: int) -> dict[str, float]:
    """Commit times of the rows whose content starts with `prefix`, once all are there."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        found = _commit_times(conn, prefix)
        if len(found) >= expected:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(found)} of {expected} '{prefix}' messages were stored")
        time.sleep(0.05)
