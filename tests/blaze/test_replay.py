"""A history delivered as Blaze pages, shuffled and with pages repeated, ends in exactly the same
tables and derived data as the same history loaded from CSV."""

from __future__ import annotations

import json
import random

import psycopg
from psycopg.types.json import Jsonb

from conductor_dev import seed
from tests.blaze import history
from tests.blaze.conftest import configure_shop

SCALE = 0.004
# Every table the import writes or its maintenance derives, and the materialized views. Columns
# that record when or in which order a row was written differ between any two loads and are left out.
WRITE_COLUMNS = "{id,source_id,created_at,updated_at,last_scored_at,computed_at,recorded_at}"
COMPARED = [
    "public.customers",
    "public.products",
    "public.staff",
    "public.transactions",
    "public.transaction_items",
    "public.customer_visit_patterns",
    "public.customer_product_affinity",
    "public.budtenders",
    "public.customer_lifetime_value",
    "public.win_back_priority_queue",
    "public.customer_activity_timeline",
]


def load_csv(database, rows: dict) -> None:
    source = "blaze-replay-csv"
    with psycopg.connect(database.url) as conn:
        with conn.cursor() as cur:
            for entity, table_rows in rows.items():
                columns = seed.STAGING_COLUMNS[entity]
                numbered = [(source, n, *row) for n, row in enumerate(table_rows, start=1)]
                column_list = ", ".join(["source", "row_number", *columns])
                with cur.copy(
                    f"copy conductor.staging_{entity} ({column_list}) from stdin with (format csv)"
                ) as copy:
                    copy.write(seed.csv_text(numbered))
        conn.execute("select conductor.import_all(%s)", (source,))
        conn.commit()


def snapshot(database, relation: str) -> list[str]:
    columns = [
        name
        for (name,) in database.rows(
            "select a.attname from pg_attribute as a where a.attrelid = %s::regclass and a.attnum > 0 "
            "and not a.attisdropped and a.attname <> all(%s::text[]) order by a.attnum",
            (relation, WRITE_COLUMNS),
        )
    ]
    assert columns, relation
    select = ", ".join(f'"{c}"' for c in columns)
    rows = database.rows(f"select to_jsonb(r)::text from (select {select} from {relation}) as r")
    return sorted(r[0] for r in rows)


def test_shuffled_repeated_blaze_pages_end_like_the_csv_load(db, csv_db):
    dataset = history.generate(SCALE)
    rows = history.csv_rows(dataset)
    load_csv(csv_db, rows)

    configure_shop(db)
    delivered = history.shuffled_with_repeats(history.pages(rows), random.Random(11))
    assert [e for e, _ in delivered].count("transactions") >= 5
    held = 0
    with db.connect() as conn:
        for entity, page in delivered:
            result = conn.execute("select public.blaze_sync_page(%s, %s)", (entity, Jsonb(page))).fetchone()[
                0
            ]
            held += result["held"]
        assert conn.execute("select count(*) from conductor.blaze_pending_transactions").fetchone()[0] == 0
    # The shuffle put transactions before their members or products: they waited and were applied.
    assert held > 0

    assert db.scalar("select count(*) from conductor.data_issues") == 0
    assert csv_db.scalar("select count(*) from conductor.data_issues") == 0
    assert db.scalar("select count(*) from public.transactions") == len(rows["transactions"])
    assert db.scalar("select count(*) from public.transactions where refunded_transaction_id is not null") > 0
    for relation in COMPARED:
        blaze, csv = snapshot(db, relation), snapshot(csv_db, relation)
        assert len(blaze) == len(csv), relation
        differing = [(b, c) for b, c in zip(blaze, csv, strict=True) if b != c][:2]
        assert not differing, f"{relation}: {json.dumps(differing, indent=1)}"
