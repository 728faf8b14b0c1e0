"""Test harness: one throwaway PostgreSQL server per pytest session (pg_cron preloaded), a
template database built once with the package installed, and a fresh clone per test.

Fixtures:
- `pg_cluster`: the server.
- `db`: a clone of the installed package, no data (pgTAP in schema `extensions`).
- `seeded_db`: a clone of the installed package with demo data at TEST_SCALE.
- `cron_db`: the database pg_cron runs in, with the package installed (session-wide).
- `empty_db`: an empty database (no package) for install tests.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from conductor_dev import installer
from conductor_dev.localdb import Cluster

TEST_SCALE = float(os.environ.get("CONDUCTOR_TEST_SCALE", "0.02"))
CRON_DB = "conductor_cron"
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Database:
    """A database on the test server."""

    cluster: Cluster
    name: str

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    def connect(self, **kwargs) -> psycopg.Connection:
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.url, **kwargs)

    def scalar(self, sql: str, params: tuple | dict | None = None):
        with self.connect() as conn:
            row = conn.execute(sql, params).fetchone()
            return None if row is None else row[0]

    def rows(self, sql: str, params: tuple | dict | None = None) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple | dict | None = None) -> None:
        with self.connect() as conn:
            conn.execute(sql, params)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="conductor-pg-"))
    os.chmod(base, 0o755)
    cluster = Cluster(datadir=base / "data", port=_free_port(), cron_database=CRON_DB)
    cluster.start()
    yield cluster
    cluster.stop(mode="immediate")
    shutil.rmtree(base, ignore_errors=True)


def _janitor(cluster: Cluster, name: str, template: str | None = None, as_template: bool = False):
    return DatabaseJanitor(
        user="postgres",
        host="127.0.0.1",
        port=cluster.port,
        dbname=name,
        template_dbname=template,
        as_template=as_template,
    )


def _prepare_test_extensions(database: Database) -> None:
    database.execute("create schema if not exists extensions")
    database.execute("create extension if not exists pgtap with schema extensions")
    # As on Supabase, everyone can use the extensions schema (pgTAP runs under `set role`).
    database.execute("grant usage on schema extensions to public")


@pytest.fixture(scope="session")
def template_db(pg_cluster: Cluster) -> Iterator[Database]:
    """The package installed once, without data; cloned by `db`."""
    janitor = _janitor(pg_cluster, "conductor_template", as_template=True)
    janitor.init()
    database = Database(pg_cluster, "conductor_template")
    _prepare_test_extensions(database)
    installer.install(database.url)
    yield database
    janitor.drop()


@pytest.fixture(scope="session")
def seeded_template_db(pg_cluster: Cluster, template_db: Database) -> Iterator[Database]:
    """The package with demo data at TEST_SCALE; cloned by `seeded_db`."""
    from conductor_dev import seed

    janitor = _janitor(pg_cluster, "conductor_seeded_template", template=template_db.name, as_template=True)
    janitor.init()
    database = Database(pg_cluster, "conductor_seeded_template")
    seed.load(database.url, scale=TEST_SCALE)
    database.execute("vacuum analyze")
    yield database
    janitor.drop()


def _clone(cluster: Cluster, template: str | None, prefix: str) -> Iterator[Database]:
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    janitor = _janitor(cluster, name, template=template)
    janitor.init()
    try:
        yield Database(cluster, name)
    finally:
        janitor.drop()


@pytest.fixture
def db(pg_cluster: Cluster, template_db: Database) -> Iterator[Database]:
    yield from _clone(pg_cluster, template_db.name, "test")


@pytest.fixture
def seeded_db(pg_cluster: Cluster, seeded_template_db: Database) -> Iterator[Database]:
    yield from _clone(pg_cluster, seeded_template_db.name, "seeded")


@pytest.fixture
def empty_db(pg_cluster: Cluster) -> Iterator[Database]:
    yield from _clone(pg_cluster, None, "empty")


@pytest.fixture(scope="session")
def cron_db(pg_cluster: Cluster) -> Database:
    """The database pg_cron serves, with the package installed (pg_cron jobs really run here)."""
    database = Database(pg_cluster, CRON_DB)
    _prepare_test_extensions(database)
    installer.install(database.url)
    return database


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return installer.ROOT
