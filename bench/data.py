"""The benchmark's data: generated once per scale by the project's demo-data generator, then
written to CSV files that every measured load reads, so Conductor and the seeds' design get
exactly the same rows.

Flow: a source database gets the package and the generator's data through its import path; its
POS rows (customers, products, staff, transactions, line items) are exported to CSV twice, once
with the package's columns and once with the columns the seeds' tables have. The 10x data is
the same rows written ten times under new keys (the import path is far too slow to feed 1.9M
transactions to a benchmark, and a replica keeps every customer's history the same shape, so
10x measures what volume alone does). A template
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
    loader_report: dict
    first_day: str
    last_day: str
    days: int
    replicas: int = 1

    @property
    def counts(self) -> dict[str, int]:
        return {name: table.rows for name, table in self.tables.items()}

    def describe(self) -> str:
        c = self.counts
        return (
            f"{c['customers']:,} customers, {c['products']:,} products, {c['transactions']:,} "
            f"transactions, {c['transaction_items']:,} line items over {self.days} days"
            + (
                f" (the generated data written {self.replicas} times under new member ids, "
                "transaction ids and phone numbers)"
                if self.replicas > 1
                else ""
            )
        )


def default_loader() -> Callable[[str, float], dict]:
    """The project's demo-data generator (conductor_dev.seed). Its load() is followed step by
    step (generate, COPY into staging, conductor.import_all, messages and leads, one commit) so
    the import itself can be timed; if those steps are not there, load() is called whole."""
    try:
        from conductor_dev import seed
    except ImportError as exc:  # pragma: no cover - only while the generator is missing
        raise RuntimeError(
            "the demo-data generator conductor_dev.seed is not available; the benchmark needs it"
        ) from exc

    def load(url: str, scale: float) -> dict:
        if not all(hasattr(seed, n) for n in ("generate", "stage", "insert_messages_and_leads")):
            seed.load(url, scale=scale)
            return {}
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dataset = seed.generate(scale=scale)
        timings["generate"] = time.perf_counter() - started
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            seed.stage(conn, dataset)
            timings["copy_to_staging"] = time.perf_counter() - started
            started = time.perf_counter()
            result = conn.execute("select conductor.import_all(%s)", (dataset.source,)).fetchone()[0]
            timings["import_all"] = time.perf_counter() - started
            seed.insert_messages_and_leads(conn, dataset)
            started = time.perf_counter()
            conn.commit()
            timings["commit"] = time.perf_counter() - started
        return {"timings": timings, "import_result": result}

    return load


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


INSTALLED = "bench_installed"


def installed(cluster: Cluster) -> str:
    """A database with the package and the baseline schema and no rows, made once per run and
    cloned for the generator's source and for every template."""
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (INSTALLED,)).fetchone()
    if not exists:
        url = env.create_database(cluster, INSTALLED)
        installer.install(url)
        run_psql_file(url, BASELINE_SQL)
    return INSTALLED


@dataclass
class Source:
    """The database the generator loaded, kept until every scale is exported from it."""

    name: str
    url: str
    scale: float
    generate_seconds: float
    loader_report: dict


def make_source(
    cluster: Cluster,
    scale: float,
    loader: Callable[[str, float], object] | None = None,
    log: Callable[[str], None] = print,
) -> Source:
    """Generate the demo data at `scale` with the project's generator, through its import path."""
    loader = loader or default_loader()
    name = f"bench_source_{str(scale).replace('.', '_')}"
    url = env.create_database(cluster, name, template=installed(cluster))
    started = time.perf_counter()
    loader_report = loader(url, scale) or {}
    if not isinstance(loader_report, dict):
        loader_report = {"report": str(loader_report)}
    generate_seconds = time.perf_counter() - started
    log(f"  generated demo data at scale {scale:g} in {generate_seconds:.1f} s")
    return Source(name, url, scale, generate_seconds, loader_report)


# Keys that name a customer or a transaction; a replica gets them with its suffix.
REPLICA_KEYS = {
    "customers": {"member_id"},
    "transactions": {"transaction_id", "customer_id", "refunded_transaction_id"},
    "transaction_items": {"transaction_id"},
}
REPLICATED = ("customers", "transactions", "transaction_items")


def _area_codes(conn: psycopg.Connection, replicas: int) -> None:
    """pg_temp.area_map: for each replica after the first, a distinct unused North American area
    code per area code in the data, so the replicas' phone numbers are valid, E.164 and unique."""
    conn.execute("create temporary table area_map (replica integer, original text, replacement text)")
    used = [
        r[0]
        for r in conn.execute(
            "select distinct substr(phone, 3, 3) from public.customers "
            "where phone ~ '^\\+1[2-9][0-9]{9}$' order by 1"
        ).fetchall()
    ]
    free = [
        str(a) for a in range(201, 990) if str(a) not in used and str(a)[1:] != "11" and str(a)[1:] != "55"
    ]
    needed = (replicas - 1) * len(used)
    if needed > len(free):
        raise RuntimeError(f"not enough free area codes to replicate {len(used)} area codes {replicas} times")
    rows = []
    for r in range(1, replicas):
        for i, original in enumerate(used):
            rows.append((r, original, free[(r - 1) * len(used) + i]))
    with conn.cursor() as cur:
        cur.executemany("insert into area_map values (%s, %s, %s)", rows)


def _select(name: str, columns: list[str], replicas: int) -> str:
    """The export query of one table; with replicas, every row once per replica under new keys."""
    if replicas == 1 or name not in REPLICATED:
        return f"select {_cols(columns)} from public.{name} as t"
    exprs = []
    for c in columns:
        if c in REPLICA_KEYS[name]:
            exprs.append(f"""case when r.n = 0 then t."{c}" else t."{c}" || '/r' || r.n end""")
        elif name == "customers" and c == "phone":
            exprs.append(
                "case when r.n = 0 or t.phone is null then t.phone "
                "when m.replacement is not null then '+1' || m.replacement || substr(t.phone, 6) end"
            )
        else:
            exprs.append(f't."{c}"')
    join = ""
    if name == "customers":
        join = " left join pg_temp.area_map as m on m.replica = r.n and m.original = substr(t.phone, 3, 3)"
    aliased = ", ".join(f'{e} as "{c}"' for e, c in zip(exprs, columns, strict=True))
    return (
        f"select {aliased} from public.{name} as t "
        f"cross join generate_series(0, {replicas - 1}) as r (n){join}"
    )


def export(source: Source, workdir: Path, replicas: int = 1) -> Dataset:
    """Export the source's POS rows to CSV files for both sides. With `replicas` > 1 the members,
    transactions and line items are written that many times under new keys (member_id/r2,
    transaction_id/r2, a phone in another area code): the volume grows, each customer's history
    keeps its shape. Products and staff are written once."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    tables: dict[str, Table] = {}
    with psycopg.connect(source.url, autocommit=True) as conn:
        conn.execute("set timezone = 'UTC'")
        if replicas > 1:
            _area_codes(conn, replicas)
        specs = {
            "customers": [c for c in CUSTOMER_POS_COLUMNS if c in data_columns(conn, "public", "customers")],
            "products": data_columns(conn, "public", "products"),
            "staff": [c for c in STAFF_STATIC_COLUMNS if c in data_columns(conn, "public", "staff")],
            "transactions": data_columns(conn, "public", "transactions"),
            "transaction_items": data_columns(conn, "public", "transaction_items"),
        }
        order = {
            "customers": "1",
            "products": "1",
            "staff": "1, 2",
            # As a POS history export arrives: oldest first.
            "transactions": "3, 1",
            "transaction_items": "1, 2",
        }
        for name, columns in specs.items():
            if name == "transactions":
                # date third: the order by below relies on it.
                columns = ["transaction_id", "customer_id", "date"] + [
                    c for c in columns if c not in ("transaction_id", "customer_id", "date")
                ]
            if name == "transaction_items":
                columns = ["transaction_id", "line_number"] + [
                    c for c in columns if c not in ("transaction_id", "line_number")
                ]
            path = workdir / f"conductor_{name}.csv"
            rows = _export(conn, f"{_select(name, columns, replicas)} order by {order[name]}", path)
            table = Table(name, rows, path, columns)
            if name != "staff":
                baseline_names = set(data_columns(conn, "seed_baseline", name))
                baseline_columns = [c for c in columns if c in baseline_names]
                baseline_order = order[name]
                if name == "transaction_items":
                    # The seeds' line items have no line number: same order, by position.
                    baseline_columns = ["transaction_id"] + [
                        c for c in baseline_columns if c != "transaction_id"
                    ]
                    inner = _select(name, ["line_number", *baseline_columns], replicas)
                    query = f"select {_cols(baseline_columns, 'x.')} from ({inner} order by 2, 1) as x"
                else:
                    query = f"{_select(name, baseline_columns, replicas)} order by {baseline_order}"
                table.baseline_file = workdir / f"baseline_{name}.csv"
                table.baseline_columns = baseline_columns
                _export(conn, query, table.baseline_file)
            tables[name] = table
        first_day, last_day, days = conn.execute(
            "select min(date)::date::text, max(date)::date::text, count(distinct date::date) "
            "from public.transactions"
        ).fetchone()
    return Dataset(
        source.scale * replicas,
        workdir,
        tables,
        source.generate_seconds if replicas == 1 else 0.0,
        source.loader_report if replicas == 1 else {},
        first_day,
        last_day,
        int(days or 0),
        replicas,
    )


def copy_from_file(conn: psycopg.Connection, target: str, columns: list[str], path: Path) -> int:
    """Server-side COPY of one CSV file (the server reads it; no client round trips)."""
    cur = conn.execute(f"copy {target} ({_cols(columns)}) from '{path}' with (format csv)")
    return cur.rowcount


def build_template(cluster: Cluster, dataset: Dataset, name: str) -> str:
    """A database with the package, the baseline schema, and both sides' customers, products
    and staff loaded; no transactions yet. Every measured database is a clone of it."""
    url = env.create_database(cluster, name, template=installed(cluster))
    with psycopg.connect(url, autocommit=True) as conn:
        for table_name in ("customers", "products", "staff"):
            t = dataset.tables[table_name]
            copy_from_file(conn, f"public.{table_name}", t.conductor_columns, t.conductor_file)
            if t.baseline_file is not None:
                copy_from_file(conn, f"seed_baseline.{table_name}", t.baseline_columns, t.baseline_file)
        conn.execute(
            "vacuum analyze public.customers, public.products, public.staff, "
            "seed_baseline.customers, seed_baseline.products"
        )
    return url
