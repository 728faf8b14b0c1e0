"""Helpers for the derived-data tests: a small shop whose sales are dated in days before the
store's today at a local wall-clock time, so expected values can be worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pytest

# Derived columns compared between live maintenance and conductor.rebuild_all() (timestamps of
# the writes themselves are not derived values).
DERIVED = {
    "public.customers": (
        "member_id",
        "total_visits, total_sales, total_refunds, gross_sales, gross_refunds, avg_sale_value, "
        "lifetime_value, date_joined, first_visited, last_visited, days_since_last_visit, vip_status, "
        "churn_risk, rfm_recency, rfm_frequency, rfm_monetary, lead_score, lead_segment",
    ),
    "public.customer_visit_patterns": (
        "customer_id",
        "total_visits, avg_days_between_visits, visit_consistency_score, visit_regularity_score, "
        "predicted_next_visit, predicted_next_visit_rounded, last_visit_deviation_days, longest_gap_days, "
        "shortest_gap_days",
    ),
    "public.customer_product_affinity": (
        "customer_id, product_sku",
        "product_name, category, brand, purchase_count, units_purchased, total_spent, first_purchased, "
        "last_purchased, avg_price_paid, avg_unit_price_weighted, repurchase_rate, purchase_days, first_visit_number",
    ),
    "public.staff": (
        "staff_name, shop_location",
        "total_transactions, total_refunds, gross_sales, gross_refunds, total_sales, avg_transaction_value",
    ),
}


def derived_snapshot(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """Every derived value of the four maintained tables, keyed and ordered."""
    return {
        table: conn.execute(f"select {key}, {cols} from {table} order by {key}").fetchall()
        for table, (key, cols) in DERIVED.items()
    }


# The history-dependent columns public.customer_sms_context takes from conductor.customer_context.
CONTEXT_COLUMNS = (
    "favorite_products, recent_purchases, favorite_category, preferred_location, preferred_budtender, "
    "last_purchase_at"
)


def assert_ready_context_is_live(conn: psycopg.Connection) -> int:
    """Every current conductor.customer_context row holds what the view computes live, and
    get_customer_insights answers every phone as it does with every row stale (both made stale
    in a rolled-back transaction); returns how many rows were current."""
    query = f"select member_id, {CONTEXT_COLUMNS} from public.customer_sms_context order by member_id"
    answers = (
        "select p.phone, public.get_customer_insights(p.phone) "
        "from (select distinct phone from public.customers where phone is not null) as p order by p.phone"
    )
    current = conn.execute(
        "select count(*) from conductor.customer_context where built_version = version"
    ).fetchone()[0]
    served = conn.execute(query).fetchall()
    served_answers = conn.execute(answers).fetchall()
    with conn.transaction(force_rollback=True):
        conn.execute("update conductor.customer_context set built_version = -1")
        live = conn.execute(query).fetchall()
        live_answers = conn.execute(answers).fetchall()
    stale = [(s[0], s, v) for s, v in zip(served, live, strict=True) if s != v]
    assert not stale, f"ready context differs from the live values: {stale[:2]}"
    stale = [(s[0], s[1], v[1]) for s, v in zip(served_answers, live_answers, strict=True) if s != v]
    assert not stale, f"ready insights differ from the live answer: {stale[:1]}"
    return current


def assert_maintained_equals_rebuild(conn: psycopg.Connection) -> None:
    """The live values equal what conductor.rebuild_all() recomputes from the raw tables, and
    rebuild_all() has nothing to change; the ready-made AI context is never stale."""
    assert_ready_context_is_live(conn)
    before = derived_snapshot(conn)
    changed = conn.execute("select conductor.rebuild_all()").fetchone()[0]
    after = derived_snapshot(conn)
    for table in DERIVED:
        if before[table] != after[table]:
            old, new = set(before[table]) - set(after[table]), set(after[table]) - set(before[table])
            raise AssertionError(
                f"{table} differs from a rebuild:\n maintained {sorted(old)[:5]}\n rebuilt {sorted(new)[:5]}"
            )
    assert changed == {
        "customers": 0,
        "customer_visit_patterns": 0,
        "customer_product_affinity": 0,
        "staff": 0,
    }


@dataclass
class Line:
    sku: str | None
    total: Decimal | float | str
    quantity: int = 1
    name: str | None = None
    category: str | None = None
    brand: str | None = None
    unit_price: Decimal | str | None = None  # list price per unit; default: total / quantity


@dataclass
class Shop:
    """Writes rows with sale times given as (days before the store's today, local time)."""

    conn: psycopg.Connection
    _counter: int = 0
    skus: set[str] = field(default_factory=set)

    def today(self):
        return self.conn.execute("select conductor.store_today()").fetchone()[0]

    def customer(self, member_id: str, *, phone: str | None = None, registered_on=None, points=0, name=None):
        self.conn.execute(
            "insert into public.customers (member_id, name, phone, registered_on, loyalty_points) "
            "values (%s, %s, %s, %s, %s)",
            (member_id, name or f"Customer {member_id}", phone, registered_on, points),
        )
        return member_id

    def product(
        self, sku: str, *, name: str | None = None, category: str | None = None, brand: str | None = None
    ):
        if sku not in self.skus:
            self.conn.execute(
                "insert into public.products (product_id, sku, name, category, brand) values (%s, %s, %s, %s, %s)",
                (f"PID-{sku}", sku, name or f"Product {sku}", category, brand),
            )
            self.skus.add(sku)
        return sku

    def sale(
        self,
        member_id: str | None,
        days_ago: int,
        amount,
        *,
        at: str = "12:00",
        transaction_id: str | None = None,
        kind: str = "sale",
        status: str = "completed",
        staff: tuple[str | None, str | None] = ("Alex", "Downtown"),
        lines: list[Line] = (),
    ) -> str:
        """One transaction on the local day `days_ago` days before today, at local time `at`."""
        self._counter += 1
        transaction_id = transaction_id or f"TX-{self._counter:05d}"
        self.conn.execute(
            """
            insert into public.transactions
                (transaction_id, customer_id, date, shop_location, staff_name, transaction_type, status,
                 total_amount)
            values (%s, %s, ((conductor.store_today() - %s) + %s::time) at time zone conductor.store_time_zone(),
                    %s, %s, %s, %s, %s)
            """,
            (transaction_id, member_id, days_ago, at, staff[1], staff[0], kind, status, amount),
        )
        if lines:
            for line in lines:
                if line.sku is not None:
                    self.product(line.sku)
            with self.conn.cursor() as cur:
                cur.executemany(
                    """
                    insert into public.transaction_items
                        (transaction_id, line_number, product_sku, product_name, category, brand, quantity,
                         unit_price, total_price)
                    values (%s, %s, %s, %s, %s, %s, %s, coalesce(%s::numeric, abs(%s::numeric) / %s), %s)
                    """,
                    [
                        (
                            transaction_id,
                            n,
                            line.sku,
                            line.name,
                            line.category,
                            line.brand,
                            line.quantity,
                            line.unit_price,
                            line.total,
                            line.quantity,
                            line.total,
                        )
                        for n, line in enumerate(lines, start=1)
                    ],
                )
        return transaction_id

    def refund(self, member_id: str | None, days_ago: int, amount, **kwargs) -> str:
        return self.sale(member_id, days_ago, -abs(Decimal(str(amount))), kind="refund", **kwargs)

    def row(self, sql: str, params=None) -> dict:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute(sql, params).fetchone()

    def rows(self, sql: str, params=None) -> list[dict]:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute(sql, params).fetchall()

    def customer_row(self, member_id: str) -> dict:
        return self.row("select * from public.customers where member_id = %s", (member_id,))


def first_load(conn, customers: int) -> None:
    """One sale of one line for each of `customers` new customers, loaded by one statement per
    table in one transaction (as a COPY of a first import)."""
    conn.execute(
        "insert into public.products (product_id, sku, name, category, brand) "
        "values ('PID-LOAD', 'SKU-LOAD', 'Loaded', 'Flower', 'Brand')"
    )
    conn.execute(
        "insert into public.customers (member_id, name) "
        "select 'LOAD-' || g, 'Customer ' || g from generate_series(1, %s) as g",
        (customers,),
    )
    with conn.transaction():
        conn.execute(
            "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
            "select 'TX-LOAD-' || g, 'LOAD-' || g, now() - g * interval '1 hour', 10 "
            "from generate_series(1, %s) as g",
            (customers,),
        )
        conn.execute(
            "insert into public.transaction_items "
            "(transaction_id, line_number, product_sku, product_name, quantity, unit_price, total_price) "
            "select 'TX-LOAD-' || g, 1, 'SKU-LOAD', 'Loaded', 1, 10, 10 from generate_series(1, %s) as g",
            (customers,),
        )


def fail_a_first_load_and_analyze(conn, customers: int) -> None:
    """A first load rolled back, then ANALYZE: customers, transactions and transaction_items are
    recorded as empty while their pages (of dead rows) are there."""
    tables = ["public.customers", "public.transactions", "public.transaction_items"]
    with conn.transaction(force_rollback=True):
        first_load(conn, customers)
    conn.execute(f"analyze {', '.join(tables)}")
    stale = conn.execute(
        "select c.oid::regclass::text from pg_catalog.pg_class as c "
        "where c.oid = any(%s::regclass[]) and c.reltuples = 0 and c.relpages > 0 order by 1",
        (tables,),
    ).fetchall()
    assert [row[0] for row in stale] == sorted(["customers", "transactions", "transaction_items"])


def capture_plans(conn) -> list[str]:
    """From now on, the plan of every statement this connection runs, nested ones included
    (auto_explain notices), appended to the returned list."""
    plans: list[str] = []
    conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
    conn.execute("load 'auto_explain'")
    conn.execute("set auto_explain.log_min_duration = 0")
    conn.execute("set auto_explain.log_nested_statements = on")
    conn.execute("set auto_explain.log_level = notice")
    return plans


@pytest.fixture
def shop(db) -> Iterator[Shop]:
    with db.connect() as conn:
        yield Shop(conn)
