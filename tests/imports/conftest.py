"""Helpers for the import tests: stage hand-written rows as a CSV export would arrive."""

from __future__ import annotations

import os
import re
from datetime import date

import psycopg
import pytest

from conductor_dev import seed


def stage_rows(conn: psycopg.Connection, entity: str, source: str, rows: list[dict]) -> None:
    """Insert rows (column -> text) into conductor.staging_<entity>, numbered 1.. in list order."""
    for number, row in enumerate(rows, start=1):
        columns = ["source", "row_number", *row]
        placeholders = ", ".join(["%s"] * len(columns))
        conn.execute(
            f"insert into conductor.staging_{entity} ({', '.join(columns)}) values ({placeholders})",
            [source, number, *row.values()],
        )


def import_entity(conn: psycopg.Connection, entity: str, source: str) -> dict:
    return conn.execute(f"select conductor.import_{entity}(%s)", (source,)).fetchone()[0]


def issues(conn: psycopg.Connection, batch_id: int) -> dict[int, tuple[str, str, str, str | None]]:
    """Data issues of one batch by source row: (field, action, problem, bad_value)."""
    rows = conn.execute(
        "select source_row, field, action, problem, bad_value from conductor.data_issues "
        "where import_batch_id = %s order by source_row, id",
        (batch_id,),
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def seeded_as_of(database) -> date:
    """The as_of the seeded template was generated with (it is part of the import source label)."""
    source = database.scalar("select source from conductor.import_batches order by id limit 1")
    match = re.search(r"as_of=(\d{4}-\d{2}-\d{2})", source)
    assert match, source
    return date.fromisoformat(match.group(1))


@pytest.fixture
def conn(db):
    with db.connect() as connection:
        yield connection


@pytest.fixture(scope="session")
def demo_dataset(seeded_template_db) -> seed.Dataset:
    """The very data set the seeded template holds (same scale, seed and as_of)."""
    scale = float(os.environ.get("CONDUCTOR_TEST_SCALE", "0.02"))  # as tests/conftest.py
    return seed.generate(scale=scale, seed=42, as_of=seeded_as_of(seeded_template_db))
