"""The commands behind the Makefile targets, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

from conductor_dev import installer


def conductor_dev(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "conductor_dev.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=installer.ROOT,
    )


def test_install_into_database_url_loads_no_demo_data(empty_db) -> None:
    result = conductor_dev("install", database_url=empty_db.url)
    assert result.returncode == 0, result.stderr
    assert f"installed conductor {installer.version()}" in result.stdout
    assert empty_db.scalar("select count(*) from public.customers") == 0


def test_install_with_demo_prints_a_sample_lookup(empty_db) -> None:
    result = conductor_dev("install", "--demo", "--scale", "0.01", database_url=empty_db.url)
    assert result.returncode == 0, result.stderr
    assert empty_db.scalar("select count(*) from public.customers") > 0
    assert "sample" in result.stdout.lower()


def test_failed_install_exits_non_zero_and_says_nothing_changed(empty_db) -> None:
    empty_db.execute("create table public.leads (id int primary key)")
    result = conductor_dev("install", database_url=empty_db.url)
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr
    assert "public.leads already exists" in result.stderr


def test_uninstall_reports_what_it_kept(empty_db) -> None:
    assert conductor_dev("install", database_url=empty_db.url).returncode == 0
    result = conductor_dev("uninstall", database_url=empty_db.url)
    assert result.returncode == 0, result.stderr
    assert "kept the tables" in result.stdout
    assert empty_db.scalar("select to_regclass('public.customers') is not null")
