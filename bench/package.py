"""What the benchmark calls in the package, in one place: names of the functions it measures
and how it finds them. A piece that is not installed yet is reported as missing, never faked."""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg

from conductor_dev import installer

INSIGHTS = "public.get_customer_insights(text)"
REBUILD_ALL = "conductor.rebuild_all()"
# Built ahead by a per-minute pg_cron job; readers compute live what it has not built yet.
CONTEXT_BUILDER = "conductor.refresh_customer_context(integer)"
CRON_DIR = installer.SQL_DIR / "cron"
CRON_JOB = re.compile(
    r"\(\s*'(conductor_[a-z0-9_]+)'\s*,\s*'([^']+)'\s*,\s*'select\s+([a-z0-9_.]+)\(\)\s*;?\s*'"
)


class Missing(RuntimeError):
    """A piece the figure measures is not in the package (yet)."""


def function_exists(conn: psycopg.Connection, signature: str) -> bool:
    return conn.execute("select to_regprocedure(%s) is not null", (signature,)).fetchone()[0]


def require(conn: psycopg.Connection, signature: str) -> None:
    if not function_exists(conn, signature):
        raise Missing(f"{signature} is not installed")


def require_named(conn: psycopg.Connection, name: str) -> None:
    """A function by name, whatever its arguments (the package has no overloads)."""
    if conn.execute("select to_regproc(%s) is null", (name,)).fetchone()[0]:
        raise Missing(f"{name} is not installed")


def cron_jobs(cron_dir: Path = CRON_DIR) -> dict[str, tuple[str, str]]:
    """The package's pg_cron jobs as declared in sql/cron/*.sql: name -> (schedule, function)."""
    jobs: dict[str, tuple[str, str]] = {}
    for path in sorted(cron_dir.glob("*.sql")):
        for name, schedule, function in CRON_JOB.findall(path.read_text()):
            jobs[name] = (schedule, function)
    return jobs


def nightly_refresh_function(conn: psycopg.Connection) -> str:
    """The function the nightly refresh job calls (the job whose name says nightly)."""
    for name, (_schedule, function) in cron_jobs().items():
        if "nightly" in name:
            signature = f"{function}()"
            require(conn, signature)
            return function
    raise Missing("no nightly refresh job in sql/cron (a conductor_*nightly* job)")


def finish_ingest(conn: psycopg.Connection) -> None:
    """Anything the package defers after a bulk load that must run before its derived data is
    complete. Conductor maintains everything in its statement triggers, so nothing is left."""
    return None


def catch_up_minute_jobs(conn: psycopg.Connection) -> dict:
    """Untimed: what the package's per-minute job has done by the time a reader comes (a live
    server runs it every minute; the benchmark's databases have no pg_cron jobs). Returns the
    customers it built and how long it took, or {} when the package has no such job."""
    if not function_exists(conn, CONTEXT_BUILDER):
        return {}
    started = time.perf_counter()
    built = conn.execute("select conductor.refresh_customer_context(null)").fetchone()[0]
    return {"context_built": built, "seconds": time.perf_counter() - started}
