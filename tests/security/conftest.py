"""Fixtures for the security tests: login roles that belong to the API and bridge roles, and a
database set up the way Supabase sets one up before the package is installed."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator

import pytest

from conductor_dev import installer
from tests.conftest import Database, _clone, _prepare_test_extensions

_counter = itertools.count()

# Supabase's API roles and default privileges (every new table, function and sequence in public
# granted to anon, authenticated and service_role), and the same defaults for every schema.
SUPABASE_ROLES_AND_DEFAULTS = """
do $$
begin
    if not exists (select from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit;
    end if;
end
$$;
grant anon, authenticated, service_role to authenticator;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges grant all on tables to anon, authenticated, service_role;
alter default privileges grant all on functions to anon, authenticated, service_role;
alter default privileges grant all on sequences to anon, authenticated, service_role;
"""


def unique_role(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


@pytest.fixture
def supabase_db(pg_cluster) -> Iterator[Database]:
    """An empty database with Supabase's roles and default privileges, then the package."""
    for database in _clone(pg_cluster, None, "supabase"):
        database.execute(SUPABASE_ROLES_AND_DEFAULTS)
        _prepare_test_extensions(database)
        installer.install(database.url)
        yield database


@pytest.fixture
def login_role(pg_cluster) -> Iterator:
    """Creates login roles by the SQL given (`{role}` stands for the name); drops them after."""
    created: list[str] = []

    def create(prefix: str, sql: str) -> str:
        name = unique_role(prefix)
        pg_cluster.psql(sql.format(role=name))
        created.append(name)
        return name

    yield create
    for name in reversed(created):
        _wait_for_sessions_to_end(pg_cluster, name)
        pg_cluster.psql(f'drop role "{name}"')


def _wait_for_sessions_to_end(pg_cluster, role: str, timeout: float = 120.0) -> None:
    """A closed connection's server process may still be removing its temporary objects, which
    the role owns and which would stop DROP ROLE: end any session of the role and wait until
    none is left (a process leaves pg_stat_activity only after its temporary objects are gone)."""
    pg_cluster.psql(f"select pg_terminate_backend(pid) from pg_stat_activity where usename = '{role}'")
    deadline = time.monotonic() + timeout
    while pg_cluster.psql(f"select count(*) from pg_stat_activity where usename = '{role}'").strip() != "0":
        if time.monotonic() > deadline:
            raise AssertionError(f"sessions of {role} still open after {timeout:g} s")
        time.sleep(0.1)
