"""The two pg_cron jobs of the derived data, on the database pg_cron really serves:
conductor_nightly_refresh and conductor_refresh_win_back are scheduled once each (installing
again changes nothing), their commands run, and each is guarded by its advisory lock: a run that
starts while another holds the lock does nothing and says so."""

from __future__ import annotations

import pytest

from conductor_dev import installer

JOBS = {
    "conductor_nightly_refresh": ("5 * * * *", "select conductor.nightly_refresh()"),
    "conductor_refresh_win_back": ("15 * * * *", "select conductor.refresh_win_back()"),
}


def jobs(cron_db) -> dict[str, tuple]:
    return {
        name: (jobid, schedule, command)
        for jobid, name, schedule, command in cron_db.rows(
            "select jobid, jobname, schedule, command from cron.job where jobname = any(%s)", (list(JOBS),)
        )
    }


def test_jobs_are_scheduled_once_and_reinstalling_changes_nothing(cron_db):
    before = jobs(cron_db)
    assert {name: (schedule, command) for name, (_, schedule, command) in before.items()} == JOBS
    installer.install(cron_db.url)
    assert jobs(cron_db) == before
    counts = cron_db.rows(
        "select jobname, count(*) from cron.job where jobname = any(%s) group by jobname", (list(JOBS),)
    )
    assert sorted(counts) == sorted((name, 1) for name in JOBS)


@pytest.mark.parametrize("name", sorted(JOBS))
def test_the_scheduled_command_runs(cron_db, name):
    command = jobs(cron_db)[name][2]
    result = cron_db.scalar(command)
    # refresh_win_back() says true when it refreshed; nightly_refresh() returns what it did.
    assert result is True or result["ran"] is True


@pytest.mark.parametrize(
    ("function", "lock", "skipped"),
    [
        ("conductor.nightly_refresh()", "conductor nightly_refresh", {"ran": False}),
        ("conductor.refresh_win_back()", "conductor refresh_win_back", False),
    ],
)
def test_a_run_while_another_holds_the_lock_does_nothing(cron_db, function, lock, skipped):
    holder = cron_db.connect(autocommit=False)
    try:
        holder.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
        result = cron_db.scalar(f"select {function}")
        if isinstance(skipped, dict):
            assert {k: result[k] for k in skipped} == skipped
        else:
            assert result is skipped
    finally:
        holder.rollback()
        holder.close()
    result = cron_db.scalar(f"select {function}")
    assert result is True or result["ran"] is True
