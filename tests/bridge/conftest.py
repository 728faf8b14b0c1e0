"""Fixtures for the bridge tests: a modem simulator on a pty, and the bridge running against it
(in a thread, or as a `conductor-bridge` subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conductor_bridge.bridge import Bridge, Config
from conductor_bridge.simulator import ModemSimulator

BRIDGE_ID = "test-bridge"

# Short timeouts so faults resolve quickly; the values real modems need are the CLI defaults.
FAST = {
    "heartbeat_seconds": 0.5,
    "command_timeout": 1.0,
    "prompt_timeout": 1.0,
    "send_timeout": 1.5,
    "reopen_max_seconds": 0.3,
    "db_retry_max_seconds": 0.3,
    "poll_seconds": 1.0,
    "multipart_timeout_seconds": 30.0,
    "shutdown_grace_seconds": 3.0,
}


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    """Poll until predicate() is truthy (returns it); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def sim() -> Iterator[ModemSimulator]:
    simulator = ModemSimulator(capacity=30, instant=True, seed=1).start()
    yield simulator
    simulator.stop()


class BridgeThread:
    """The bridge in a thread of the test process (stopped like SIGTERM does)."""

    def __init__(self, config: Config) -> None:
        self.bridge = Bridge(config)
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bridge", daemon=True)

    def _run(self) -> None:
        try:
            self.exit_code = self.bridge.run()
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def start(self) -> BridgeThread:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 20.0) -> int | None:
        self.bridge.request_stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("bridge thread did not stop")
        if self.error is not None:
            raise self.error
        return self.exit_code


@pytest.fixture
def start_bridge(sim: ModemSimulator) -> Iterator[Callable[..., BridgeThread]]:
    running: list[BridgeThread] = []

    def start(database_url: str, port: str | None = None, **overrides: object) -> BridgeThread:
        settings = {**FAST, **overrides}
        config = Config(port=port or sim.path, database_url=database_url, bridge_id=BRIDGE_ID, **settings)
        thread = BridgeThread(config).start()
        running.append(thread)
        return thread

    yield start
    for thread in running:
        if thread.alive:
            thread.stop()


def bridge_command(port: str, database_url: str, *extra: str, bridge_id: str = BRIDGE_ID) -> list[str]:
    """The `conductor-bridge` command line with the fast test settings."""
    return [
        sys.executable,
        "-m",
        "conductor_bridge",
        "--port",
        port,
        "--database-url",
        database_url,
        "--bridge-id",
        bridge_id,
        "--heartbeat-seconds",
        "0.5",
        "--command-timeout",
        "1",
        "--prompt-timeout",
        "1",
        "--send-timeout",
        "1.5",
        "--reopen-max-seconds",
        "0.3",
        "--db-retry-max-seconds",
        "0.3",
        "--poll-seconds",
        "1",
        *extra,
    ]


class BridgeProcess:
    """`conductor-bridge` as a subprocess (for SIGKILL and SIGTERM)."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in wait()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("DATABASE_URL", None)
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.wait()

    def terminate(self, timeout: float = 20.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def spawn_bridge(tmp_path: Path) -> Iterator[Callable[[list[str]], BridgeProcess]]:
    processes: list[BridgeProcess] = []

    def spawn(argv: list[str]) -> BridgeProcess:
        process = BridgeProcess(argv, tmp_path / f"bridge-{len(processes)}.log")
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.proc.poll() is None:
            process.kill()
