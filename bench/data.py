"""The benchmark's data: generated once per scale by the project's demo-data generator, then
written to CSV files that every measured load reads, so Conductor and the seeds' design get
exactly the same rows.

Flow: a source database gets the package and `conductor_dev.seed.load(url, scale)`; its POS
rows (customers, products, staff, transactions, line items) are exported to CSV twice, once
with the package's columns and once with the columns the seeds' tables have. A template
database then holds the package, the baseline schema, and the customers, products and staff
of both; every measured database is a clone of it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import env
from conductor_dev import installer
from conductor_dev.localdb import Cluster

BASELINE_SQL = Path(__file__).resolve().parent / "baseline.sql"

# Customer columns the POS provides; everything else on public.customers is maintained.
CUSTOMER_POS_COLUMNS = [
    "member_id",
    "name",
    "phone",
    "email",
    "loyalty_points",
    "customer_type",
    "member_group",
    "marketing_source",
    "street_address",
    "city",
    "state",
    "zip_code",
    "time_zone",
    "registered_on",
]
STAFF_STATIC_COLUMNS = ["staff_name", "shop_location", "employee_id", "role", "is_active", "hire_date"]
NOT_DATA = {"id", "created_at", "updated_at"}


@dataclass
class Table:
    """One exported table: the file and its column list, for each side."""

    name: str
    rows: int
    conductor_file: Path
    conductor_columns: list[str]
    baseline_file: Path | None = None
    baseline_columns: list[str] = field(default_factory=list)


@dataclass
class Dataset:
    scale: float
    workdir: Path
    tables: dict[str, Table]
    generate_seconds: float
    first_day: str
    last_day: str
    days: int

    @property
    def counts(self) -> dict[str, int]:
        return {name: table.rows for name, table in self.tables.items()}

    def describe(self) -> str:
        c = self.counts
        return (
            f"{c['customers']:,} customers, {c['products']:,} products, {c['transactions']:,} "
            f"transactions, {c['transaction_items']:,} line items over {self.days} days"
        )


def default_loader() -> Callable[[str, float], object]:
    """The project's demo-data generator: conductor_dev.seed.load(url, scale=...)."""
    try:
        from conductor_dev import seed
    except ImportError as exc:  # pragma: no cover - only while the generator is missing
        raise RuntimeError(
            "the demo-data generator conductor_dev.seed is not available; the benchmark needs it"
        ) from exc
    return lambda url, scale: seed.load(url, scale=scale)


def run_psql_file(url: str, path: Path) -> None:
    result = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{path.name} failed: {result.stderr.strip()}")


def data_columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        """
        select column_name from information_schema.columns
        where table_schema = %s and table_name = %s and is_generated = 'NEVER'
        order by ordinal_position
        """,
        (schema, table),
    ).fetchall()
    return [r[0] for r in rows if r[0] not in NOT_DATA]


def _export(conn: psycopg.Connection, query: str, path: Path) -> int:
    rows = 0
    with conn.cursor() as cur, open(path, "wb") as fh:
        with cur.copy(f"copy ({query}) to stdout with (format csv)") as copy:
            for block in copy:
                fh.write(block)
        rows = cur.rowcount
    os.chmod(path, 0o644)
    if rows < 0:
        with open(path, "rb") as fh:
            rows = sum(1 for _ in fh)
    return rows


def _cols(columns: list[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def generate(
    cluster: Cluster,
    scale: float,
    workdir: Path,
    loader: Callable[[str, float], object] | None = None,
    log: Callable[[str], None] = print,
) -> Dataset:
    """Generate the demo data at `scale` in a source database and export it to CSV files."""
    loader = loader or default_loader()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    source = f"bench_source_{str(scale).replace('.', '_')}"
    url = env.create_database(cluster, source)
    installer.install(url)
    run_psql_file(url, BASELINE_SQL)
    started = time.perf_counter()
    loader(url, scale)
    generate_seconds = time.perf_counter() - started
    log(f"  generated demo data at scale {scale:g} in {generate_seconds:.1f} s")

    tables: dict[str, Table] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set timezone = 'UTC'")
        specs = {
            "customers": [c for c in CUSTOMER_POS_COLUMNS if c in data_columns(conn, "public", "customers")],
            "products": data_columns(conn, "public", "products"),
            "staff": [c for c in STAFF_STATIC_COLUMNS if c in data_columns(conn, "public", "staff")],
            "transactions": data_columns(conn, "public", "transactions"),
            "transaction_items": data_columns(conn, "public", "transaction_items"),
        }
        order = {
            "customers": "member_id",
            "products": "product_id",
            "staff": "staff_name, shop_location",
            # As a POS history export arrives: oldest first.
            "transactions": "date, transaction_id",
            "transaction_items": "transaction_id, line_number",
        }
        for name, columns in specs.items():
            path = workdir / f"conductor_{name}.csv"
            rows = _export(conn, f"select {_cols(columns)} from public.{name} order by {order[name]}", path)
            table = Table(name, rows, path, columns)
            if name != "staff":
                baseline_columns = [c for c in columns if c in data_columns(conn, "seed_baseline", name)]
                if name == "transaction_items":
                    # Same row order as the package's file: by transaction, then line.
                    query = (
                        f"select {_cols(baseline_columns)} from public.transaction_items "
                        "order by transaction_id, line_number"
                    )
                else:
                    query = f"select {_cols(baseline_columns)} from public.{name} order by {order[name]}"
                table.baseline_file = workdir / f"baseline_{name}.csv"
                table.baseline_columns = baseline_columns
                _export(conn, query, table.baseline_file)
            tables[name] = table
        first_day, last_day, days = conn.execute(
            "select min(date)::date::text, max(date)::date::text, count(distinct date::date) "
            "from public.transactions"
        ).fetchone()
    env.drop_database(cluster, source)
    return Dataset(scale, workdir, tables, generate_seconds, first_day, last_day, int(days or 0))


def copy_from_file(conn: psycopg.Connection, target: str, columns: list[str], path: Path) -> int:
    """Server-side COPY of one CSV file (the server reads it; no client round trips)."""
    cur = conn.execute(f"copy {target} ({_cols(columns)}) from '{path}' with (format csv)")
    return cur.rowcount


def build_template(cluster: Cluster, dataset: Dataset, name: str) -> str:
    """A database with the package, the baseline schema, and both sides' customers, products
    and staff loaded; no transactions yet. Every measured database is a clone of it."""
    url = env.create_database(cluster, name)
    installer.install(url)
    run_psql_file(url, BASELINE_SQL)
    with psycopg.connect(url, autocommit=True) as conn:
        for table_name in ("customers", "products", "staff"):
            t = dataset.tables[table_name]
            copy_from_file(conn, f"public.{table_name}", t.conductor_columns, t.conductor_file)
            if t.baseline_file is not None:
                copy_from_file(conn, f"seed_baseline.{table_name}", t.baseline_columns, t.baseline_file)
        conn.execute("vacuum analyze")
    return url
