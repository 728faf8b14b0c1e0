"""A throwaway or project-local PostgreSQL cluster with pg_cron preloaded.

Used by `make install` (a cluster kept in the project folder, like `supabase start` without
containers) and by the test suite (a cluster in a temporary folder). PostgreSQL refuses to run
as root, so when we are root the server binaries run as the `postgres` system user that
Debian's packages create.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVER_OPTIONS = {
    "shared_preload_libraries": "'pg_cron'",
    "listen_addresses": "'127.0.0.1'",
    "timezone": "'UTC'",
    "max_connections": "200",
    "fsync": "on",
    "log_min_messages": "warning",
}


def bindir() -> Path:
    """Directory of the PostgreSQL server binaries (PG_BINDIR overrides)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not candidates:
        raise RuntimeError("no PostgreSQL server found: run `make deps` (apt-get install postgresql-15)")
    return Path(candidates[-1]).parent


def schema_dump(url: str) -> str:
    """pg_dump --schema-only without comment lines: equal dumps mean equal schemas."""
    result = subprocess.run(
        [str(bindir() / "pg_dump"), "--schema-only", "--no-tablespaces", "-d", url],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [
        line
        for line in result.stdout.splitlines()
        if line and not line.startswith(("--", "\\restrict", "\\unrestrict"))
    ]
    return "\n".join(lines)


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclass
class Cluster:
    """One PostgreSQL cluster: a data directory, a port, and the database pg_cron runs in."""

    datadir: Path
    port: int
    cron_database: str = "conductor"
    extra_options: dict[str, str] = field(default_factory=dict)

    @property
    def logfile(self) -> Path:
        return self.datadir.parent / f"{self.datadir.name}.log"

    def url(self, dbname: str | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname or self.cron_database}"

    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        self.datadir.mkdir(mode=0o700, exist_ok=True)
        _give_to_server_user(self.datadir)
        subprocess.run(
            _as_server_user(
                [
                    str(bindir() / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = {
            **SERVER_OPTIONS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.datadir}'",
            "cron.database_name": f"'{self.cron_database}'",
            **self.extra_options,
        }
        conf = "\n".join(f"{k} = {v}" for k, v in options.items())
        with open(self.datadir / "postgresql.conf", "a") as fh:
            fh.write(f"\n# conductor\n{conf}\n")

    def running(self) -> bool:
        result = subprocess.run(
            [str(bindir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return result.returncode == 0 and (self.datadir / "postmaster.pid").exists()

    def start(self) -> None:
        if not self.initialized():
            self.init()
        if self.running():
            return
        self.logfile.touch()
        _give_to_server_user(self.logfile)
        subprocess.run(
            _as_server_user(
                [str(bindir() / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-w", "start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self._wait_ready()
        self.ensure_database(self.cron_database)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start; see {self.logfile}")

    def stop(self, mode: str = "fast") -> None:
        if not self.initialized() or not (self.datadir / "postmaster.pid").exists():
            return
        subprocess.run(
            _as_server_user([str(bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        result = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.url(dbname), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def ensure_database(self, dbname: str) -> None:
        exists = self.psql(f"select 1 from pg_database where datname = '{dbname}'")
        if not exists.strip():
            self.psql(f'create database "{dbname}"')
