"""Figure 2: one POS sale (a transaction with 3 line items) inserted with everything maintained,
each sale in its own database transaction, on the loaded database.

Three variants, same sales: Conductor (its maintenance triggers on), Conductor's tables with the
maintenance triggers disabled (the floor: what the inserts cost alone), and the seeds' tables
with their per-row triggers. Latency is wall time from BEGIN to the durable COMMIT's return.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from bench import stats

TAX_RATE = Decimal("0.15")
CENT = Decimal("0.01")
CONDUCTOR_TX = """
insert into public.transactions
    (transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type,
     total_amount, total_tax, discounts, loyalty_points_earned)
values (%s, %s, %s, %s, %s, 'T1', 'cash', %s, %s, 0, %s)
"""
CONDUCTOR_ITEMS = """
insert into public.transaction_items
    (transaction_id, line_number, product_sku, product_name, brand, category, strain, flower_type,
     quantity, unit_price, total_price, thc_content, cbd_content)
values (%s, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s),
       (%s, 2, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s),
       (%s, 3, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
BASELINE_TX = """
insert into seed_baseline.transactions
    (transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type,
     total_amount, total_tax, discounts, loyalty_points_earned)
values (%s, %s, %s, %s, %s, 'T1', 'cash', %s, %s, 0, %s)
"""
BASELINE_ITEMS = """
insert into seed_baseline.transaction_items
    (transaction_id, product_sku, product_name, brand, category, strain, flower_type,
     quantity, unit_price, total_price, thc_content, cbd_content)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s),
       (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s),
       (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


@dataclass
class Sale:
    transaction_id: str
    customer_id: str
    at: datetime
    shop_location: str
    staff_name: str
    lines: list[tuple]  # (sku, name, brand, category, strain, flower_type, qty, unit, total, thc, cbd)

    @property
    def total(self):
        return sum(line[8] for line in self.lines)


def make_sales(conn: psycopg.Connection, count: int, tag: str, seed: int = 5) -> list[Sale]:
    """`count` plausible sales: random members, staff and products from the loaded data."""
    rng = random.Random(seed)
    customers = [r[0] for r in conn.execute("select member_id from public.customers order by member_id")]
    staff = conn.execute("select staff_name, shop_location from public.staff order by 1, 2").fetchall()
    if not staff:
        staff = conn.execute(
            "select distinct staff_name, shop_location from public.transactions "
            "where staff_name is not null and shop_location is not null order by 1, 2"
        ).fetchall()
    products = conn.execute(
        """
        select sku, name, brand, category, strain, flower_type, retail_price, thc_content, cbd_content
        from public.products
        where sku is not null and retail_price is not null and is_active
        order by sku
        """
    ).fetchall()
    if not customers or not products or not staff:
        raise RuntimeError("the loaded database has no customers, products or staff to sell")
    now = datetime.now(UTC)
    sales = []
    for i in range(count):
        picked = rng.sample(products, 3)
        lines = []
        for p in picked:
            qty = rng.choice((1, 1, 1, 2))
            lines.append((p[0], p[1], p[2], p[3], p[4], p[5], qty, p[6], p[6] * qty, p[7], p[8]))
        location, name = rng.choice(staff)[::-1]
        sales.append(
            Sale(
                transaction_id=f"BENCH-{tag}-{i:06d}",
                customer_id=rng.choice(customers),
                at=now + timedelta(milliseconds=i),
                shop_location=location,
                staff_name=name,
                lines=lines,
            )
        )
    return sales


def _insert(conn: psycopg.Connection, sale: Sale, side: str) -> float:
    total = sale.total
    tx_params = (
        sale.transaction_id,
        sale.customer_id,
        sale.at,
        sale.shop_location,
        sale.staff_name,
        total,
        (total * TAX_RATE).quantize(CENT),
        int(total),
    )
    tx_sql, items_sql = (
        (BASELINE_TX, BASELINE_ITEMS) if side == "baseline" else (CONDUCTOR_TX, CONDUCTOR_ITEMS)
    )
    item_params: list = []
    for line in sale.lines:
        item_params += [sale.transaction_id, *line]
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(tx_sql, tx_params, prepare=True)
        conn.execute(items_sql, item_params, prepare=True)
    return time.perf_counter() - started


def _set_maintenance(conn: psycopg.Connection, enabled: bool) -> None:
    verb = "enable" if enabled else "disable"
    for table in ("transactions", "transaction_items"):
        conn.execute(f"alter table public.{table} {verb} trigger user")


def run(url: str, iterations: int, runs: int, warmup: int = 50, budget_s: float = 600.0) -> dict:
    """Latency samples in milliseconds: p50 and p99 per run, the median of each over the runs.
    A time budget bounds the figure: each run (Conductor and the seeds interleaved) gets an
    equal share of two thirds of it, the plain inserts the rest; a run out of time stops early
    and the result counts the sales made."""
    per_run = max(1, iterations // runs)
    result: dict = {"iterations": per_run * runs, "runs": runs}
    with (
        psycopg.connect(url, autocommit=True) as admin,
        psycopg.connect(url, autocommit=True) as conductor,
        psycopg.connect(url, autocommit=True) as baseline,
        psycopg.connect(url, autocommit=True) as plain,
    ):
        sales = make_sales(admin, warmup + per_run * runs, "pos")
        plain_sales = make_sales(admin, warmup + per_run * runs, "plain", seed=6)
        samples: dict[str, list[list[float]]] = {"conductor": [], "baseline": [], "plain": []}
        for sale in sales[:warmup]:
            _insert(conductor, sale, "conductor")
            _insert(baseline, sale, "baseline")
        complete = True
        for r in range(runs):
            chunk = sales[warmup + r * per_run : warmup + (r + 1) * per_run]
            c_samples, b_samples = [], []
            deadline = time.perf_counter() + budget_s * 2 / 3 / runs
            # Interleaved, so both sides see the same moment of the machine.
            for sale in chunk:
                if time.perf_counter() > deadline:
                    complete = False
                    break
                c_samples.append(_insert(conductor, sale, "conductor") * 1000)
                b_samples.append(_insert(baseline, sale, "baseline") * 1000)
            samples["conductor"].append(c_samples)
            samples["baseline"].append(b_samples)
        _set_maintenance(admin, False)
        try:
            for sale in plain_sales[:warmup]:
                _insert(plain, sale, "conductor")
            for r in range(runs):
                chunk = plain_sales[warmup + r * per_run : warmup + (r + 1) * per_run]
                deadline = time.perf_counter() + budget_s / 3 / runs
                done = []
                for sale in chunk:
                    if time.perf_counter() > deadline:
                        complete = False
                        break
                    done.append(_insert(plain, sale, "conductor") * 1000)
                samples["plain"].append(done)
            # The plain sales bypassed maintenance: take them out the same way (line items go
            # by cascade), so the loaded database stays consistent for the figures that follow.
            admin.execute("delete from public.transactions where transaction_id like 'BENCH-plain-%'")
        finally:
            _set_maintenance(admin, True)
    result["iterations"] = sum(len(c) for c in samples["conductor"])
    result["complete"] = complete
    result["budget_s"] = budget_s
    for side, chunks in samples.items():
        result[side] = {
            "sales": sum(len(c) for c in chunks),
            "p50_ms": stats.median([stats.percentile(c, 50) for c in chunks]),
            "p99_ms": stats.median([stats.percentile(c, 99) for c in chunks]),
            "max_ms": max(max(c) for c in chunks),
        }
    return result
