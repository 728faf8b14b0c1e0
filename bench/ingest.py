"""Figure 1: bulk ingest of the generated transactions and line items.

Four loads of the same CSV files, each into a fresh clone of the template database:
- Conductor with every derived object maintained (its triggers on);
- plain COPY into the same tables with the maintenance triggers disabled (foreign keys stay);
- the seeds' tables with their per-row triggers;
- plain COPY into the seeds' tables without their triggers (the seeds' own floor).
Each load is one transaction: COPY transactions, COPY line items, commit.

The plain-COPY clones, left with raw rows and nothing derived, then serve figure 4's full
rebuilds: conductor.rebuild_all() against the seeds' full recompute, both from scratch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

from bench import env, package
from bench.data import Dataset, copy_from_file
from conductor_dev.localdb import Cluster

VARIANTS = ("conductor", "plain", "baseline", "baseline_plain")
# What a load writes, on either side (vacuumed and analyzed between timed steps).
LOADED_TABLES = [
    f"{schema}.{table}"
    for schema in ("public", "seed_baseline")
    for table in (
        "transactions",
        "transaction_items",
        "customers",
        "customer_product_affinity",
        "customer_visit_patterns",
        "staff",
    )
]


@dataclass
class Load:
    variant: str
    seconds: float
    rows: int
    transactions_seconds: float  # the first COPY alone (line items and commit follow)


def _disable(conn: psycopg.Connection, schema: str) -> None:
    for table in ("transactions", "transaction_items"):
        conn.execute(f"alter table {schema}.{table} disable trigger user")


def _enable(conn: psycopg.Connection, schema: str) -> None:
    for table in ("transactions", "transaction_items"):
        conn.execute(f"alter table {schema}.{table} enable trigger user")


def load(url: str, dataset: Dataset, variant: str) -> Load:
    """Run one load of the transactions and line items; return its wall time to commit."""
    schema = "public" if variant in ("conductor", "plain") else "seed_baseline"
    tx = dataset.tables["transactions"]
    items = dataset.tables["transaction_items"]
    if schema == "public":
        files = [(tx.conductor_columns, tx.conductor_file), (items.conductor_columns, items.conductor_file)]
    else:
        files = [(tx.baseline_columns, tx.baseline_file), (items.baseline_columns, items.baseline_file)]
    with psycopg.connect(url, autocommit=True) as conn:
        if variant in ("plain", "baseline_plain"):
            _disable(conn, schema)
        if not env.Options.quick:
            # Every load starts with nothing dirty in shared buffers and the WAL just recycled.
            conn.execute("checkpoint")
        rows = 0
        started = time.perf_counter()
        with conn.transaction():
            rows += copy_from_file(conn, f"{schema}.transactions", *files[0])
            transactions_seconds = time.perf_counter() - started
            rows += copy_from_file(conn, f"{schema}.transaction_items", *files[1])
            if variant == "conductor":
                package.finish_ingest(conn)
        seconds = time.perf_counter() - started
        if variant in ("plain", "baseline_plain"):
            _enable(conn, schema)
    return Load(variant, seconds, rows, transactions_seconds)


def settle(url: str) -> None:
    """Untimed: vacuum and analyze after a load, so the next timed step starts from a quiet
    database (no autovacuum catching up in the middle of it) with fresh statistics."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"vacuum analyze {', '.join(LOADED_TABLES)}")


def run(cluster: Cluster, dataset: Dataset, template: str, runs: int, keep_last: str, log=print) -> dict:
    """`runs` rounds of the four loads. The last round's Conductor and per-row baseline loads
    share one database, which is kept (renamed `keep_last`) as the loaded database for the
    other figures. Returns the samples of each variant in seconds."""
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    transactions_only: dict[str, list[float]] = {v: [] for v in VARIANTS}
    rebuild: dict[str, list[float]] = {"conductor": [], "baseline": []}
    rebuild_missing = None
    rows = 0
    for r in range(runs):
        last = r == runs - 1
        loaded = keep_last if last else f"bench_ingest_{r}"
        # Alternate which side loads first, so neither always meets the other's leftovers.
        maintained = ("conductor", "baseline") if r % 2 == 0 else ("baseline", "conductor")
        plain = ("plain", "baseline_plain") if r % 2 == 0 else ("baseline_plain", "plain")
        url = env.create_database(cluster, loaded, template=template)
        for variant in maintained:
            result = load(url, dataset, variant)
            samples[variant].append(result.seconds)
            transactions_only[variant].append(result.transactions_seconds)
            rows = result.rows
            log(f"    run {r + 1}/{runs} {variant:<15} {result.seconds:8.2f} s")
            settle(url)
        if not last:
            env.drop_database(cluster, loaded)
        scratch = f"bench_plain_{r}"
        url = env.create_database(cluster, scratch, template=template)
        for variant in plain:
            result = load(url, dataset, variant)
            samples[variant].append(result.seconds)
            transactions_only[variant].append(result.transactions_seconds)
            log(f"    run {r + 1}/{runs} {variant:<15} {result.seconds:8.2f} s")
            settle(url)
        # Figure 4's full rebuilds start here, from raw rows and nothing derived yet: the same
        # work for both designs (the seeds' recompute rewrites everything anyway).
        for name, sql in (
            ("conductor", f"select {package.REBUILD_ALL}"),
            ("baseline", "select seed_baseline.full_recompute()"),
        ):
            try:
                seconds = timed_statement(
                    url, sql, require=package.REBUILD_ALL if name == "conductor" else None
                )
            except package.Missing as exc:
                rebuild_missing = str(exc)
                continue
            rebuild[name].append(seconds)
            log(f"    run {r + 1}/{runs} rebuild {name:<7} {seconds:8.2f} s (from raw rows)")
        env.drop_database(cluster, scratch)
    derived = derived_counts(cluster.url(keep_last))
    return {
        "samples": samples,
        "transactions_only": transactions_only,
        "rows": rows,
        "derived": derived,
        "sanity": describe_derived(derived),
        "rebuild_from_raw": rebuild,
        "rebuild_missing": rebuild_missing,
    }


def timed_statement(url: str, sql: str, require: str | None = None) -> float:
    """Seconds to run one statement in its own transaction, to its commit."""
    with psycopg.connect(url, autocommit=True) as conn:
        if require:
            package.require(conn, require)
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(sql)
        seconds = time.perf_counter() - started
        conn.execute(f"vacuum analyze {', '.join(LOADED_TABLES)}")
    return seconds


def derived_counts(url: str) -> dict[str, int]:
    """What the maintained loads produced (a load that maintained nothing would look fast)."""
    with psycopg.connect(url, autocommit=True) as conn:
        counts = conn.execute(
            """
            select
                (select count(*) from public.customers where total_visits > 0),
                (select count(*) from public.customer_product_affinity),
                (select count(*) from public.customer_visit_patterns),
                (select count(*) from seed_baseline.customers where total_visits > 0)
            """
        ).fetchone()
    keys = ("customers_with_visits", "affinity_rows", "visit_patterns", "baseline_customers_with_visits")
    return dict(zip(keys, counts, strict=True))


def describe_derived(d: dict[str, int]) -> str:
    return (
        f"{d['customers_with_visits']:,} customers with visits, {d['affinity_rows']:,} affinity rows, "
        f"{d['visit_patterns']:,} visit patterns (seeds' per-row triggers: "
        f"{d['baseline_customers_with_visits']:,} customers with visits)"
    )
