"""The benchmark's throwaway PostgreSQL cluster and the description of the machine it runs on."""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from conductor_dev.localdb import Cluster

# Server settings for the run. Durability stays on (fsync, synchronous_commit): a POS sale is
# measured to its durable commit. Larger buffers and WAL than the defaults so a 10x bulk load is
# not dominated by checkpoints; recorded with the results.
SERVER_SETTINGS = {
    "shared_buffers": "'1GB'",
    "maintenance_work_mem": "'256MB'",
    "work_mem": "'16MB'",
    "max_wal_size": "'8GB'",
    "checkpoint_timeout": "'30min'",
    "synchronous_commit": "on",
    "autovacuum": "on",
    # Figure 5 reads when the bridge's inbound rows committed (pg_xact_commit_timestamp).
    "track_commit_timestamp": "on",
}
CRON_DATABASE = "bench_cron"


class Options:
    """Run-wide switches. `quick` (the smoke test) skips what only matters for honest timings
    on real volumes: the checkpoint before each timed load, dropping finished databases (the
    throwaway cluster goes as a whole)."""

    quick = False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_cluster(keep: bool = False) -> Iterator[tuple[Cluster, Path]]:
    """A new cluster in a temporary folder (world-readable, so the server user can read the
    data files the benchmark writes there); stopped and removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="conductor-bench-"))
    os.chmod(base, 0o755)
    work = base / "work"
    work.mkdir()
    os.chmod(work, 0o755)
    cluster = Cluster(
        datadir=base / "data",
        port=_free_port(),
        cron_database=CRON_DATABASE,
        extra_options=dict(SERVER_SETTINGS),
    )
    try:
        cluster.start()
        yield cluster, work
    finally:
        cluster.stop(mode="fast")
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def socket_url(cluster: Cluster, dbname: str) -> str:
    """A connection over the server's Unix socket: the 'local connection' of the figures."""
    return f"postgresql://postgres@/{dbname}?host={cluster.datadir}&port={cluster.port}"


def create_database(cluster: Cluster, name: str, template: str | None = None) -> str:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        if template:
            conn.execute(f'create database "{name}" template "{template}"')
        else:
            conn.execute(f'create database "{name}"')
    return cluster.url(name)


def drop_database(cluster: Cluster, name: str) -> None:
    if Options.quick:
        return
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def _memory_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return round(int(match.group(1)) / 1024 / 1024, 1) if match else None


def _git_revision() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    revision = result.stdout.strip()
    if not revision:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "sql", "bridge", "tools", "bench"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent,
    ).stdout.strip()
    return f"{revision} + uncommitted changes" if dirty else revision


def describe_machine(url: str) -> dict:
    """CPU model, cores, memory, PostgreSQL and Python versions, server settings, date."""
    with psycopg.connect(url, autocommit=True) as conn:
        pg_version = conn.execute("select version()").fetchone()[0]
        settings = dict(
            conn.execute(
                "select name, setting || coalesce(unit, '') from pg_settings where name = any(%s)",
                (
                    [
                        "shared_buffers",
                        "work_mem",
                        "maintenance_work_mem",
                        "max_wal_size",
                        "fsync",
                        "synchronous_commit",
                        "jit",
                        "track_commit_timestamp",
                    ],
                ),
            ).fetchall()
        )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "postgresql": pg_version.split(" on ")[0],
        "python": sys.version.split()[0],
        "psycopg": psycopg.__version__,
        "server_settings": settings,
        "git_revision": _git_revision(),
    }
