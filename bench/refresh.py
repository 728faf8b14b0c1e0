"""Figure 4: rebuilding and refreshing derived data, against the seeds' recomputes.

- Full rebuild: `conductor.rebuild_all()` against the seeds' full recompute (every customer's
  totals through their per-row calculation, the affinity populate, calculate_visit_patterns(),
  REFRESH of their win-back materialized view). Both from raw rows are timed in figure 1's
  plain-COPY clones (bench/ingest.py); here rebuild_all() on the loaded, healthy database.
- Nightly refresh: the function the package's nightly pg_cron job calls, on a database whose
  clock-dependent values are a day old (as after midnight), against the seeds' daily job
  (visit patterns, win-back refresh, every customer row rewritten so their triggers recompute
  days since the last visit and churn).
- One day's new sales: a day's worth of sales (a real day of the generated data, moved to
  today) inserted in one transaction with Conductor maintaining everything incrementally,
  against the same sales in the seeds' tables (their per-row triggers) followed by the
  recomputes their derived tables need (affinity, visit patterns, win-back queue).
Each step runs in its own transaction and is timed to its commit.
"""

from __future__ import annotations

import time

import psycopg

from bench import ingest, package, stats


def _timed(conn: psycopg.Connection, sql: str | list[str]) -> float | None:
    """Seconds to run the statement(s) in one transaction, to its commit; None when stopped by
    the session's statement_timeout (the run's time limit)."""
    statements = [sql] if isinstance(sql, str) else sql
    started = time.perf_counter()
    try:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement)
    except psycopg.errors.QueryCanceled:
        return None
    return time.perf_counter() - started


def _age_one_day(conn: psycopg.Connection) -> None:
    """Untimed: make the stored clock-dependent values yesterday's, as they are when the nightly
    job runs after the date turned (a refresh on an already refreshed day writes nothing, which
    would flatter it). Triggers are off for this fix-up only; then vacuum, as autovacuum would
    have done during the day, and the per-minute job has caught up with the day's sales. The
    win-back queue is refreshed from those values, so it holds yesterday's rows too and the
    nightly refresh changes every row of it, as on a real night."""
    for table, column in (
        ("customers", "days_since_last_visit"),
        ("customer_visit_patterns", "last_visit_deviation_days"),
    ):
        with conn.transaction():
            conn.execute(f"alter table public.{table} disable trigger user")
            conn.execute(f"update public.{table} set {column} = {column} - 1 where {column} > 0")
            conn.execute(f"alter table public.{table} enable trigger user")
    if conn.execute("select to_regclass('public.win_back_priority_queue') is not null").fetchone()[0]:
        conn.execute("refresh materialized view public.win_back_priority_queue")
    conn.execute("vacuum analyze public.customers, public.customer_visit_patterns")
    package.catch_up_minute_jobs(conn)


def _day_staging(conn: psycopg.Connection) -> dict:
    """Copies the generated day closest to the average number of sales per day into unlogged
    staging tables (untimed); each run inserts them under new ids, dated today."""
    day, count = conn.execute(
        """
        with per_day as (
            select date::date as day, count(*) as n from public.transactions
            where transaction_id not like 'BENCH-%' group by 1
        )
        select day, n from per_day
        order by abs(n - (select avg(n) from per_day)), day desc
        limit 1
        """
    ).fetchone()
    conn.execute("create schema if not exists bench")
    conn.execute("drop table if exists bench.day_transactions, bench.day_items")
    conn.execute(
        "create unlogged table bench.day_transactions as "
        "select * from public.transactions where date::date = %s",
        (day,),
    )
    conn.execute(
        "create unlogged table bench.day_items as "
        "select i.* from public.transaction_items as i "
        "join bench.day_transactions as t using (transaction_id)"
    )
    items = conn.execute("select count(*) from bench.day_items").fetchone()[0]
    return {"day": str(day), "transactions": count, "items": items}


def _columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = %s and table_name = %s "
        "and column_name not in ('id', 'created_at', 'updated_at') "
        "order by ordinal_position",
        (schema, table),
    ).fetchall()
    return [r[0] for r in rows]


def _day_insert_sql(conn: psycopg.Connection, schema: str, day: str, tag: str) -> list[str]:
    """INSERT ... SELECT of the staged day into `schema`, with new ids and dates moved to today."""
    staged_tx = set(_columns(conn, "bench", "day_transactions"))
    staged_items = set(_columns(conn, "bench", "day_items"))
    tx_cols = [c for c in _columns(conn, schema, "transactions") if c in staged_tx]
    item_cols = [c for c in _columns(conn, schema, "transaction_items") if c in staged_items]

    def expr(col: str) -> str:
        if col == "transaction_id":
            return f"transaction_id || '-{tag}'"
        if col == "date":
            return f"date + (current_date - date '{day}') * interval '1 day'"
        if col == "refunded_transaction_id":
            return "null"
        return f'"{col}"'

    tx = ", ".join(f'"{c}"' for c in tx_cols)
    items = ", ".join(f'"{c}"' for c in item_cols)
    return [
        f"insert into {schema}.transactions ({tx}) "
        f"select {', '.join(expr(c) for c in tx_cols)} from bench.day_transactions order by date",
        f"insert into {schema}.transaction_items ({items}) "
        f"select {', '.join(expr(c) for c in item_cols)} from bench.day_items order by transaction_id",
    ]


def run(url: str, runs: int, rebuild_runs: int, timeout: float | None = None) -> dict:
    result: dict = {"runs": runs, "rebuild_runs": rebuild_runs, "timeout_s": timeout}
    with psycopg.connect(url, autocommit=True) as conn:
        if timeout:
            conn.execute(f"set statement_timeout = '{int(timeout * 1000)}ms'")
        missing: dict[str, str] = {}
        try:
            package.require(conn, package.REBUILD_ALL)
        except package.Missing as exc:
            missing["rebuild_all"] = str(exc)
        try:
            nightly = package.nightly_refresh_function(conn)
        except package.Missing as exc:
            nightly = None
            missing["nightly"] = str(exc)
        result["nightly_function"] = nightly
        result["missing"] = missing

        samples: dict[str, list[float]] = {}

        # On the loaded database every derived value is already right: rebuild_all() recomputes
        # and compares, and writes nothing. (From raw rows, against the seeds' full recompute,
        # it is timed in figure 1's plain-COPY clones.)
        if package.function_exists(conn, package.REBUILD_ALL):
            samples["rebuild_all_healthy"] = [
                _timed(conn, f"select {package.REBUILD_ALL}") for _ in range(rebuild_runs)
            ]
            conn.execute(f"vacuum analyze {', '.join(ingest.LOADED_TABLES)}")

        if nightly:
            samples["nightly"] = []
            for _ in range(runs):
                _age_one_day(conn)
                samples["nightly"].append(_timed(conn, f"select {nightly}()"))
        samples["baseline_nightly"] = [
            _timed(conn, "select seed_baseline.nightly_refresh()") for _ in range(runs)
        ]
        conn.execute(f"vacuum analyze {', '.join(ingest.LOADED_TABLES)}")

        day = _day_staging(conn)
        result["day"] = day
        samples["day_conductor"] = []
        samples["day_baseline_inserts"] = []
        samples["day_baseline_recompute"] = []
        for r in range(runs):
            samples["day_conductor"].append(
                _timed(conn, _day_insert_sql(conn, "public", day["day"], f"day{r}"))
            )
            samples["day_baseline_inserts"].append(
                _timed(conn, _day_insert_sql(conn, "seed_baseline", day["day"], f"day{r}"))
            )
            samples["day_baseline_recompute"].append(_timed(conn, "select seed_baseline.derived_recompute()"))
        samples["day_baseline"] = [
            None if a is None or b is None else a + b
            for a, b in zip(samples["day_baseline_inserts"], samples["day_baseline_recompute"], strict=True)
        ]
    result["seconds"] = {}
    result["stopped"] = []
    for name, values in samples.items():
        done = [v for v in values if v is not None]
        if done:
            result["seconds"][name] = stats.median(done)
        elif values:
            result["stopped"].append(name)
    result["samples"] = samples
    return result
