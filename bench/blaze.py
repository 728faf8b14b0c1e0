"""Figure 6: a backfill of the demo history through the Blaze live sync, against the CSV import of
the same rows.

The demo history (tools/conductor_dev/seed.py, at a small scale: every page is its own database
transaction, and a full backfill at scale 1 would be some 1,900 pages) is cut down to what Blaze
carries and turned into partner API pages of 100 records (tests/blaze/history.py). Two fresh
databases with the package installed:
- CSV: COPY into the staging tables, conductor.import_all, commit;
- Blaze: public.blaze_sync_page per page, in Blaze's order (members, products, then transactions
  by time), each call its own transaction, as the backfill workflow makes them.
Reported: the total of each, and the time per page of 100 transactions (median and p95). Both
databases must end with the same number of transactions and line items.
"""

from __future__ import annotations

import statistics
import time

import psycopg
from psycopg.types.json import Jsonb

from bench import data, env
from conductor_dev import seed
from conductor_dev.localdb import Cluster
from tests.blaze import history

BLAZE_SCALE = 0.02  # about 3,700 transactions, 37 pages
QUICK_BLAZE_SCALE = 0.002


def _csv_load(url: str, rows: dict) -> float:
    source = "bench-blaze-csv"
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
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
    return time.perf_counter() - started


def _blaze_load(url: str, rows: dict) -> tuple[float, list[float]]:
    pages = history.pages(rows)
    per_transaction_page = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update conductor.settings set value = to_jsonb(%s::text) where key = 'blaze_shop_id'",
            (history.SHOP_ID,),
        )
        conn.execute(
            "update conductor.settings set value = to_jsonb(%s::text) where key = 'blaze_shop_name'",
            (history.SHOP_NAME,),
        )
        started = time.perf_counter()
        for entity, page in pages:
            page_started = time.perf_counter()
            conn.execute("select public.blaze_sync_page(%s, %s)", (entity, Jsonb(page)))
            if entity == "transactions":
                per_transaction_page.append(time.perf_counter() - page_started)
        total = time.perf_counter() - started
    return total, per_transaction_page


def _counts(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select (select count(*) from public.transactions), "
            "(select count(*) from public.transaction_items)"
        ).fetchone()


def run(cluster: Cluster, quick: bool) -> dict:
    scale = QUICK_BLAZE_SCALE if quick else BLAZE_SCALE
    rows = history.csv_rows(history.generate(scale))
    template = data.installed(cluster)
    csv_url = env.create_database(cluster, "bench_blaze_csv", template=template)
    blaze_url = env.create_database(cluster, "bench_blaze_pages", template=template)
    try:
        csv_seconds = _csv_load(env.socket_url(cluster, "bench_blaze_csv"), rows)
        blaze_seconds, pages = _blaze_load(env.socket_url(cluster, "bench_blaze_pages"), rows)
        csv_counts, blaze_counts = _counts(csv_url), _counts(blaze_url)
    finally:
        env.drop_database(cluster, "bench_blaze_csv")
        env.drop_database(cluster, "bench_blaze_pages")
    if csv_counts != blaze_counts:
        raise AssertionError(f"the Blaze backfill stored {blaze_counts}, the CSV import {csv_counts}")
    ordered = sorted(pages)
    return {
        "scale": scale,
        "transactions": len(rows["transactions"]),
        "line_items": len(rows["transaction_items"]),
        "transaction_pages": len(pages),
        "csv_seconds": csv_seconds,
        "blaze_seconds": blaze_seconds,
        "page_median_ms": statistics.median(ordered) * 1000 if ordered else None,
        "page_p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000 if ordered else None,
    }


def markdown(result: dict | None) -> str:
    """The figure's lines for the report (empty when it was not run)."""
    if not result:
        return ""
    if "error" in result:
        return f"Figure 6, Blaze backfill through blaze_sync_page: not measured: {result['error']}\n"
    ratio = result["blaze_seconds"] / result["csv_seconds"] if result["csv_seconds"] else None
    return "\n".join(
        [
            f"Figure 6, Blaze backfill through blaze_sync_page (demo history at scale {result['scale']:g}: "
            f"{result['transactions']:,} transactions, {result['line_items']:,} line items):",
            "",
            "| measure | Blaze pages | CSV import of the same rows |",
            "|---|---|---|",
            f"| total | {result['blaze_seconds']:.2f} s | {result['csv_seconds']:.2f} s |",
            f"| per page of 100 transactions | median {result['page_median_ms']:.0f} ms, "
            f"p95 {result['page_p95_ms']:.0f} ms ({result['transaction_pages']} pages) | |",
            f"| Blaze / CSV | {ratio:.1f}x | |" if ratio else "| Blaze / CSV | n/a | |",
            "",
        ]
    )
