"""Figure 1: bulk ingest of the generated transactions and line items.

Four loads of the same CSV files, each into a fresh clone of the template database:
- Conductor with every derived object maintained (its triggers on);
- plain COPY into the same tables with the maintenance triggers disabled (foreign keys stay);
- the seeds' tables with their per-row triggers;
- plain COPY into the seeds' tables without their triggers (the seeds' own floor).
Each load is one transaction: COPY transactions, COPY line items, commit.

The plain-COPY clones, left with raw rows and nothing derived, then serve figure 4's full
rebuilds: conductor.rebuild_all() against the seeds' full recompute, both from scratch.

At the growth scale (30x, `run(full=False)`) one round does less: the plain COPY into
Conductor's tables, the maintained load, and the seeds' tables filled by their plain COPY and
their full recompute (the state their per-row triggers would leave, in a fraction of the time);
no rebuild_all() from raw rows.
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
    seconds: float | None  # None: stopped at the time limit (rolled back)
    rows: int
    transactions_seconds: float | None  # the first COPY alone (line items and commit follow)


def _disable(conn: psycopg.Connection, schema: str) -> None:
    for table in ("transactions", "transaction_items"):
        conn.execute(f"alter table {schema}.{table} disable trigger user")


def _enable(conn: psycopg.Connection, schema: str) -> None:
    for table in ("transactions", "transaction_items"):
        conn.execute(f"alter table {schema}.{table} enable trigger user")


def _limit(conn: psycopg.Connection, timeout: float | None) -> None:
    conn.execute(f"set statement_timeout = '{int(timeout * 1000) if timeout else 0}ms'")


def load(url: str, dataset: Dataset, variant: str, timeout: float | None = None) -> Load:
    """Run one load of the transactions and line items; return its wall time to commit, or
    None for a load stopped after `timeout` seconds (each COPY gets what is left of it)."""
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
        transactions_seconds = None
        started = time.perf_counter()
        try:
            with conn.transaction():
                _limit(conn, timeout)
                rows += copy_from_file(conn, f"{schema}.transactions", *files[0])
                transactions_seconds = time.perf_counter() - started
                if timeout:
                    _limit(conn, max(0.001, timeout - transactions_seconds))
                rows += copy_from_file(conn, f"{schema}.transaction_items", *files[1])
                if variant == "conductor":
                    package.finish_ingest(conn)
            seconds = time.perf_counter() - started
        except psycopg.errors.QueryCanceled:
            seconds = None
        _limit(conn, None)
        if variant in ("plain", "baseline_plain"):
            _enable(conn, schema)
    return Load(variant, seconds, rows, transactions_seconds)


def settle(url: str) -> None:
    """Untimed: vacuum and analyze after a load, so the next timed step starts from a quiet
    database (no autovacuum catching up in the middle of it) with fresh statistics."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"vacuum analyze {', '.join(LOADED_TABLES)}")


def _fmt(seconds: float | None, timeout: float | None) -> str:
    return f"{seconds:8.2f} s" if seconds is not None else f"stopped after {timeout:g} s"


def run(
    cluster: Cluster,
    dataset: Dataset,
    template: str,
    runs: int,
    keep_last: str,
    log=print,
    timeout: float | None = None,
    full: bool = True,
) -> dict:
    """`runs` rounds: the two plain loads and then both full rebuilds in one clone, the two
    maintained loads in another (not `full`: the growth scale's one round, _run_growth). The
    loaded database the other figures use is kept as
    `keep_last`: the last round's maintained clone (Conductor's and the seeds' triggers), or, if
    a maintained load was stopped at the time limit, the last plain clone after both rebuilds.
    Samples are seconds; None marks a step stopped at the time limit (`timeout`, or by default
    auto_limit of the round's plain COPY times; maintained loads and rebuilds only)."""
    if not full:
        return _run_growth(cluster, dataset, template, keep_last, log, timeout)
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    transactions_only: dict[str, list[float]] = {v: [] for v in VARIANTS}
    rebuild: dict[str, list[float]] = {"conductor": [], "baseline": []}
    rebuild_missing = None
    rows = 0
    loaded_from = None
    limits: list[float | None] = []
    for r in range(runs):
        last = r == runs - 1
        # Alternate which side loads first, so neither always meets the other's leftovers.
        maintained = ("conductor", "baseline") if r % 2 == 0 else ("baseline", "conductor")
        plain = ("plain", "baseline_plain") if r % 2 == 0 else ("baseline_plain", "plain")

        # The plain clone first: its COPY times set the round's time limit.
        scratch = f"bench_plain_{r}"
        url = env.create_database(cluster, scratch, template=template)
        for variant in plain:
            result = load(url, dataset, variant)
            samples[variant].append(result.seconds)
            transactions_only[variant].append(result.transactions_seconds)
            rows = max(rows, result.rows)
            log(f"    run {r + 1}/{runs} {variant:<15} {_fmt(result.seconds, None)}")
            settle(url)
        limit = (
            timeout
            if timeout is not None
            else auto_limit(samples["plain"][-1], samples["baseline_plain"][-1])
        )
        limits.append(limit)
        # Figure 4's full rebuilds start here, from raw rows and nothing derived yet: the same
        # work for both designs (the seeds' recompute rewrites everything anyway).
        for name, sql in (
            ("conductor", f"select {package.REBUILD_ALL}"),
            ("baseline", "select seed_baseline.full_recompute()"),
        ):
            try:
                seconds = timed_statement(
                    url, sql, require=package.REBUILD_ALL if name == "conductor" else None, timeout=limit
                )
            except package.Missing as exc:
                rebuild_missing = str(exc)
                continue
            rebuild[name].append(seconds)
            log(f"    run {r + 1}/{runs} rebuild {name:<7} {_fmt(seconds, limit)} (from raw rows)")
        rebuilt = all(rebuild[side][-1:] not in ([], [None]) for side in ("conductor", "baseline"))

        loaded = f"bench_ingest_{r}"
        url = env.create_database(cluster, loaded, template=template)
        complete = True
        for variant in maintained:
            result = load(url, dataset, variant, limit)
            samples[variant].append(result.seconds)
            transactions_only[variant].append(result.transactions_seconds)
            rows = max(rows, result.rows)
            complete = complete and result.seconds is not None
            log(f"    run {r + 1}/{runs} {variant:<15} {_fmt(result.seconds, limit)}")
            settle(url)

        if last and complete:
            _rename(cluster, loaded, keep_last)
            loaded_from = "maintained loads"
        else:
            env.drop_database(cluster, loaded)
        if last and loaded_from is None and rebuilt:
            _rename(cluster, scratch, keep_last)
            loaded_from = "plain COPY + full rebuilds (a maintained load was stopped)"
        else:
            env.drop_database(cluster, scratch)
    return _result(
        cluster,
        keep_last,
        loaded_from,
        samples=samples,
        transactions_only=transactions_only,
        rows=rows,
        timeout_s=max((v for v in limits if v is not None), default=None),
        rebuild_from_raw=rebuild,
        rebuild_missing=rebuild_missing,
    )


def _result(
    cluster: Cluster, keep_last: str, loaded_from: str | None, seeds_by: str = "per-row triggers", **fields
):
    """Figure 1's result: the given fields plus what the kept database holds, when one was kept."""
    derived = derived_counts(cluster.url(keep_last)) if loaded_from else None
    return {
        **fields,
        "derived": derived or {},
        "sanity": describe_derived(derived, seeds_by=seeds_by) if derived else None,
        "loaded_from": loaded_from,
    }


def _run_growth(
    cluster: Cluster, dataset: Dataset, template: str, keep_last: str, log, timeout: float | None
) -> dict:
    """The growth scale's ingest: plain COPY into Conductor's tables (its own clone, dropped),
    then in the clone kept as `keep_last` the maintained load, the seeds' plain COPY and their
    full recompute (timed: their rebuild from raw rows at this scale)."""
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    transactions_only: dict[str, list[float]] = {v: [] for v in VARIANTS}
    scratch = "bench_plain_0"
    url = env.create_database(cluster, scratch, template=template)
    plain = load(url, dataset, "plain")
    samples["plain"].append(plain.seconds)
    transactions_only["plain"].append(plain.transactions_seconds)
    log(f"    run 1/1 {'plain':<15} {_fmt(plain.seconds, None)}")
    env.drop_database(cluster, scratch)
    limit = timeout if timeout is not None else auto_limit(plain.seconds, plain.seconds)

    loaded = "bench_ingest_0"
    url = env.create_database(cluster, loaded, template=template)
    rows = plain.rows
    for variant in ("conductor", "baseline_plain"):
        result = load(url, dataset, variant, limit if variant == "conductor" else None)
        samples[variant].append(result.seconds)
        transactions_only[variant].append(result.transactions_seconds)
        rows = max(rows, result.rows)
        log(f"    run 1/1 {variant:<15} {_fmt(result.seconds, limit)}")
        settle(url)
    recompute = timed_statement(url, "select seed_baseline.full_recompute()", timeout=limit)
    log(f"    run 1/1 recompute baseline {_fmt(recompute, limit)} (from raw rows)")
    loaded_from = None
    if samples["conductor"][-1] is not None and recompute is not None:
        _rename(cluster, loaded, keep_last)
        loaded_from = "maintained load; the seeds' tables by plain COPY and their full recompute"
    else:
        env.drop_database(cluster, loaded)
    return _result(
        cluster,
        keep_last,
        loaded_from,
        seeds_by="plain COPY and full recompute",
        samples=samples,
        transactions_only=transactions_only,
        rows=rows,
        timeout_s=limit,
        rebuild_from_raw={"conductor": [], "baseline": [recompute]},
        rebuild_missing=None,
        full=False,
    )


def auto_limit(plain: float, baseline_plain: float) -> float:
    """The default time limit of a maintained load or a full rebuild: ten times the slower
    plain COPY of the same data (far beyond the 1.5x target), and never under five minutes."""
    return max(300.0, 10 * max(plain, baseline_plain))


def _rename(cluster: Cluster, old: str, new: str) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{new}" with (force)')
        conn.execute(f'alter database "{old}" rename to "{new}"')


def timed_statement(
    url: str, sql: str, require: str | None = None, timeout: float | None = None
) -> float | None:
    """Seconds to run one statement in its own transaction, to its commit; None if it was
    stopped after `timeout` seconds."""
    with psycopg.connect(url, autocommit=True) as conn:
        if require:
            package.require(conn, require)
        started = time.perf_counter()
        try:
            with conn.transaction():
                _limit(conn, timeout)
                conn.execute(sql)
            seconds = time.perf_counter() - started
        except psycopg.errors.QueryCanceled:
            seconds = None
        _limit(conn, None)
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


def describe_derived(d: dict[str, int], seeds_by: str = "per-row triggers") -> str:
    return (
        f"{d['customers_with_visits']:,} customers with visits, {d['affinity_rows']:,} affinity rows, "
        f"{d['visit_patterns']:,} visit patterns (seeds' {seeds_by}: "
        f"{d['baseline_customers_with_visits']:,} customers with visits)"
    )
