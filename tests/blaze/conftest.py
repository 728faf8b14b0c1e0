"""Fixtures for the Blaze sync tests: a second clone of the installed package, and a database set
up for one Blaze shop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.blaze import history
from tests.conftest import Database, _clone


def configure_shop(database: Database) -> None:
    database.execute(
        "update conductor.settings set value = to_jsonb(%s::text) where key = 'blaze_shop_id'",
        (history.SHOP_ID,),
    )
    database.execute(
        "update conductor.settings set value = to_jsonb(%s::text) where key = 'blaze_shop_name'",
        (history.SHOP_NAME,),
    )


@pytest.fixture
def shop_db(db) -> Database:
    configure_shop(db)
    return db


@pytest.fixture
def csv_db(pg_cluster, template_db) -> Iterator[Database]:
    yield from _clone(pg_cluster, template_db.name, "csv")
