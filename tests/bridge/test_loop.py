"""The main loop never spins: a deadline it cannot act on (the database is down, a message the
database refused, a result waiting to be recorded) does not make it wake at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from conductor_bridge import pdu
from conductor_bridge.bridge import Bridge, Config, Result


@pytest.fixture
def bridge(tmp_path) -> Iterator[Bridge]:
    b = Bridge(Config(port=str(tmp_path / "ttyNONE"), database_url="postgresql://unused/none"))
    yield b
    b._close()


def _database(connected: bool) -> SimpleNamespace:
    return SimpleNamespace(connected=connected, fileno=lambda: None, close=lambda: None)


def test_database_down_waits_for_the_reconnect_not_the_overdue_heartbeat(bridge):
    now = time.monotonic()
    bridge.db = _database(False)
    bridge.next_heartbeat = now - 10
    bridge.db_retry_at = now + 2
    bridge.modem_retry_at = now + 3
    assert 1.5 < bridge.wait_timeout() <= 2


def test_an_overdue_multipart_the_database_refused_is_looked_at_again_later(bridge):
    now = time.monotonic()
    bridge.db = _database(True)
    bridge.modem_ready = True
    bridge.next_heartbeat = bridge.next_scan = bridge.next_outbound = now + 30
    parts = pdu.encode_deliver("+16195550100", "x" * 200, datetime.now(UTC), reference=1)
    bridge.inventory.add(1, parts[0], now - 5000)  # long past the multipart timeout
    assert 0.5 < bridge.wait_timeout() <= 1.0


def test_a_result_waiting_to_be_recorded_blocks_sending_not_the_loop(bridge):
    now = time.monotonic()
    bridge.db = _database(True)
    bridge.modem_ready = True
    bridge.pending.append(Result("sent", 1, modem_reference=3, parts=1))
    bridge.next_outbound = now - 10  # nothing may be claimed before the result is recorded
    bridge.next_heartbeat = bridge.next_scan = now + 4
    assert 3.5 < bridge.wait_timeout() <= 4


def test_queued_notices_mean_no_wait(bridge):
    now = time.monotonic()
    bridge.db = _database(True)
    bridge.modem_ready = True
    bridge.next_heartbeat = bridge.next_scan = bridge.next_outbound = now + 30
    bridge.read_queue.add(4)
    assert bridge.wait_timeout() == 0
