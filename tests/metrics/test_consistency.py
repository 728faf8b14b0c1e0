"""Consistency: after a long random sequence of inserts, updates, deletes, refunds, voids, bulk
statements and member renames, every maintained value equals what conductor.rebuild_all()
recomputes from the raw tables (which then has nothing to change), the stored scores equal
what conductor.customer_scores serves, and every ready-made AI context row still current is what
the view computes live. Runs on hand-made data and on the seeded demo data.
"""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import psycopg
import pytest

from .conftest import assert_maintained_equals_rebuild, assert_ready_context_is_live, derived_snapshot

STAFF = [("Alex", "Downtown"), ("Sam", "Downtown"), ("Sam", "Uptown"), ("Lee", None), ("Kim", "Beach")]
TIMES = ["00:01", "09:30", "12:00", "16:45", "23:59"]
CATEGORIES = ["Flower", "Vapes", "Edibles", None]


def money(rng: random.Random, low=1, high=150) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


class Workload:
    """Random operations against the package's tables, one autocommit statement each."""

    def __init__(self, conn: psycopg.Connection, rng: random.Random, members: list[str], skus: list[str]):
        self.conn, self.rng, self.members, self.skus = conn, rng, members, skus
        self.n = 0
        # The POS clock: hours after 200 days before the store's today, moving forward only, so
        # most POS sales come after their customer's last visit (the incremental path).
        self.clock = 0
        self.weights = [30, 6, 6, 5, 4, 4, 2, 4, 3, 4, 5, 4, 1, 1, 1, 0, 2, 3]

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n:05d}"

    def _transactions(self, count: int, kind: str = "sale") -> list[tuple]:
        rows = []
        for _ in range(count):
            member = None if self.rng.random() < 0.1 else self.rng.choice(self.members)
            staff = self.rng.choice(STAFF)
            amount = money(self.rng)
            rows.append(
                (
                    self._id("RT"),
                    member,
                    self.rng.randint(0, 200),
                    self.rng.choice(TIMES),
                    staff[1],
                    staff[0],
                    kind,
                    "voided" if self.rng.random() < 0.05 else "completed",
                    -amount if kind == "refund" else amount,
                )
            )
        self.conn.execute(
            """
            insert into public.transactions
                (transaction_id, customer_id, date, shop_location, staff_name, transaction_type, status, total_amount)
            select v.id, v.member, ((conductor.store_today() - v.days) + v.at::time)
                       at time zone conductor.store_time_zone(), v.location, v.staff, v.kind, v.status, v.amount
            from unnest(%s::text[], %s::text[], %s::integer[], %s::text[], %s::text[], %s::text[], %s::text[],
                        %s::text[], %s::numeric[])
                as v (id, member, days, at, location, staff, kind, status, amount)
            """,
            [list(col) for col in zip(*rows, strict=True)],
        )
        return rows

    def _lines(self, transactions: list[tuple]) -> None:
        lines = []
        for t in transactions:
            for n in range(1, self.rng.randint(1, 4)):
                qty = self.rng.randint(1, 3)
                total = money(self.rng, 1, 60)
                lines.append(
                    (
                        t[0],
                        n,
                        None if self.rng.random() < 0.05 else self.rng.choice(self.skus),
                        self.rng.choice(["Old name", "New name", None]),
                        self.rng.choice(CATEGORIES),
                        qty,
                        total / qty,
                        -total if t[6] == "refund" else total,
                    )
                )
        if lines:
            self.conn.execute(
                """
                insert into public.transaction_items
                    (transaction_id, line_number, product_sku, product_name, category, quantity, unit_price, total_price)
                select * from unnest(%s::text[], %s::integer[], %s::text[], %s::text[], %s::text[], %s::integer[],
                                     %s::numeric[], %s::numeric[])
                """,
                [list(col) for col in zip(*lines, strict=True)],
            )

    def pos_sale(self) -> None:
        """A sale (sometimes a refund) at the POS clock, its lines in a second statement; now and then
        two sales of one customer in one database transaction, or a transaction without lines."""
        self.clock = min(self.clock + self.rng.choice([0, 0, 1, 3, 20, 26, 50, 170]), 200 * 24 + 10)
        member = self.rng.choice(self.members)
        count = 2 if self.rng.random() < 0.1 else 1
        with self.conn.transaction():
            for _ in range(count):
                staff = self.rng.choice(STAFF)
                kind = "refund" if self.rng.random() < 0.08 else "sale"
                amount = money(self.rng)
                row = (
                    self._id("RT"),
                    member,
                    0,
                    "",
                    staff[1],
                    staff[0],
                    kind,
                    "voided" if self.rng.random() < 0.03 else "completed",
                    -amount if kind == "refund" else amount,
                )
                self.conn.execute(
                    """
                    insert into public.transactions
                        (transaction_id, customer_id, date, shop_location, staff_name, transaction_type, status,
                         total_amount)
                    values (%s, %s, ((conductor.store_today() - 200)::timestamp + make_interval(hours => %s)
                                     + make_interval(secs => %s)) at time zone conductor.store_time_zone(),
                            %s, %s, %s, %s, %s)
                    """,
                    (row[0], member, self.clock, self.n % 3600, row[4], row[5], kind, row[7], row[8]),
                )
                if self.rng.random() < 0.95:
                    self._lines([row])

    def random_transaction(self) -> str | None:
        row = self.conn.execute(
            "select transaction_id from public.transactions where transaction_id like 'RT-%%' "
            "order by transaction_id offset %s limit 1",
            (self.rng.randint(0, max(self.n // 2, 1)),),
        ).fetchone()
        return row[0] if row else None

    def step(self) -> None:
        op = self.rng.choices(
            [
                "sale",
                "bulk",
                "refund",
                "move",
                "amount",
                "void",
                "unvoid",
                "reassign",
                "restaff",
                "delete",
                "line",
                "drop_line",
                "rename",
                "register",
                "bulk_void_day",
                "pos",
                "catalogue",
                "build_context",
            ],
            weights=self.weights,
        )[0]
        if op == "pos":
            self.pos_sale()
            return
        if op == "build_context":
            # what the per-minute job does: later writes must make these rows stale again
            self.conn.execute("select conductor.refresh_customer_context()")
            return
        if op == "catalogue":
            # lines without a name or category fall back to the catalogue's
            self.conn.execute(
                "update public.products set name = %s, category = %s where sku = %s",
                (f"Catalogue {self.n}", self.rng.choice(CATEGORIES), self.rng.choice(self.skus)),
            )
            self.n += 1
            return
        tx = self.random_transaction()
        if op == "sale":
            self._lines(self._transactions(1))
        elif op == "bulk":
            self._lines(self._transactions(self.rng.randint(5, 25)))
        elif op == "refund":
            self._lines(self._transactions(1, kind="refund"))
        elif tx is None:
            return
        elif op == "move":
            self.conn.execute(
                "update public.transactions set date = date - make_interval(days => %s, hours => %s) "
                "where transaction_id = %s",
                (self.rng.randint(-3, 40), self.rng.randint(0, 23), tx),
            )
        elif op == "amount":
            self.conn.execute(
                "update public.transactions set total_amount = case when transaction_type = 'sale' "
                "then %s else -%s end where transaction_id = %s",
                (money(self.rng), money(self.rng), tx),
            )
        elif op == "void":
            self.conn.execute(
                "update public.transactions set status = 'voided' where transaction_id = %s", (tx,)
            )
        elif op == "unvoid":
            self.conn.execute(
                "update public.transactions set status = 'completed' where transaction_id = %s", (tx,)
            )
        elif op == "reassign":
            member = None if self.rng.random() < 0.2 else self.rng.choice(self.members)
            self.conn.execute(
                "update public.transactions set customer_id = %s where transaction_id = %s", (member, tx)
            )
        elif op == "restaff":
            staff = self.rng.choice(STAFF)
            self.conn.execute(
                "update public.transactions set staff_name = %s, shop_location = %s where transaction_id = %s",
                (staff[0], staff[1], tx),
            )
        elif op == "delete":
            self.conn.execute("delete from public.transactions where transaction_id = %s", (tx,))
        elif op == "line":
            self.conn.execute(
                "update public.transaction_items set quantity = quantity + 1, product_sku = %s, "
                "total_price = total_price * 2, product_name = %s where transaction_id = %s",
                (self.rng.choice(self.skus), self.rng.choice(["Renamed", None]), tx),
            )
        elif op == "drop_line":
            self.conn.execute(
                "delete from public.transaction_items where transaction_id = %s and line_number = 1", (tx,)
            )
        elif op == "rename":
            old = self.rng.choice(self.members)
            new = f"{old}-R{self.n}"
            self.n += 1
            self.conn.execute("update public.customers set member_id = %s where member_id = %s", (new, old))
            self.members[self.members.index(old)] = new
        elif op == "register":
            self.conn.execute(
                "update public.customers set registered_on = conductor.store_today() - %s where member_id = %s",
                (self.rng.randint(0, 400), self.rng.choice(self.members)),
            )
        elif op == "bulk_void_day":
            self.conn.execute(
                "update public.transactions set status = 'voided' "
                "where customer_id = %s and transaction_type = 'sale' and date > now() - interval '60 days'",
                (self.rng.choice(self.members),),
            )


def assert_scores_are_served_as_stored(conn: psycopg.Connection) -> None:
    mismatched = conn.execute(
        """
        select c.member_id
        from public.customers as c
        inner join conductor.customer_scores as s on c.id = s.id
        where (c.days_since_last_visit, c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency,
               c.rfm_monetary, c.lead_score, c.lead_segment)
          is distinct from (s.days_since_last_visit, s.vip_status, s.churn_risk, s.rfm_recency, s.rfm_frequency,
               s.rfm_monetary, s.lead_score, s.lead_segment)
        """
    ).fetchall()
    assert mismatched == []


def run_workload(
    conn: psycopg.Connection,
    seed: int,
    steps: int,
    members: list[str],
    skus: list[str],
    weights: list[int] | None = None,
) -> None:
    workload = Workload(conn, random.Random(seed), members, skus)
    if weights is not None:
        workload.weights = weights
    current = []
    for n in range(steps):
        workload.step()
        if n % 25 == 24:
            current.append(assert_ready_context_is_live(conn))
        if n == steps // 2:
            assert_maintained_equals_rebuild(conn)
    assert_maintained_equals_rebuild(conn)
    assert_scores_are_served_as_stored(conn)
    # The checks above compared ready rows, not only live fallbacks.
    assert max(current) > 0
    conn.execute("select conductor.refresh_customer_context()")
    customers = conn.execute("select count(*) from public.customers").fetchone()[0]
    assert assert_ready_context_is_live(conn) == customers


def test_random_history_equals_a_rebuild(db):
    with db.connect() as conn:
        conn.execute(
            "insert into public.products (product_id, sku, name, category) "
            "select 'P' || g, 'SKU-' || g, 'Product ' || g, (array['Flower', 'Vapes', 'Edibles'])[1 + g % 3] "
            "from generate_series(1, 12) as g"
        )
        conn.execute(
            "insert into public.customers (member_id, name, phone, registered_on) "
            "select 'M-' || g, 'Customer ' || g, '+1619555' || lpad(g::text, 4, '0'), date '2024-01-01' + g "
            "from generate_series(1, 25) as g"
        )
        run_workload(
            conn,
            seed=3,
            steps=400,
            members=[f"M-{g}" for g in range(1, 26)],
            skus=[f"SKU-{g}" for g in range(1, 13)],
        )


def test_pos_sales_mixed_with_edits_equal_a_rebuild(db):
    """Mostly POS sales in time order (applied as deltas: totals, appended visit gaps, the sale's
    products and every repurchase share), mixed with the edits that take the full recompute:
    sales and refunds back in time, moves, voids, deletes, line edits, renames."""
    with db.connect() as conn:
        conn.execute(
            "insert into public.products (product_id, sku, name, category) "
            "select 'P' || g, 'SKU-' || g, 'Product ' || g, (array['Flower', 'Vapes', 'Edibles'])[1 + g % 3] "
            "from generate_series(1, 8) as g"
        )
        conn.execute(
            "insert into public.customers (member_id, name, phone, registered_on) "
            "select 'M-' || g, 'Customer ' || g, '+1619555' || lpad(g::text, 4, '0'), date '2024-01-01' + g "
            "from generate_series(1, 12) as g"
        )
        run_workload(
            conn,
            seed=7,
            steps=500,
            members=[f"M-{g}" for g in range(1, 13)],
            skus=[f"SKU-{g}" for g in range(1, 9)],
            weights=[3, 1, 1, 2, 1, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1, 60, 0, 3],
        )


def test_pos_sales_only_equal_a_rebuild(db):
    """Only POS sales in time order: nearly every one takes the incremental path."""
    with db.connect() as conn:
        conn.execute(
            "insert into public.products (product_id, sku, name) "
            "select 'P' || g, 'SKU-' || g, 'Product ' || g from generate_series(1, 6) as g"
        )
        conn.execute(
            "insert into public.customers (member_id) select 'M-' || g from generate_series(1, 6) as g"
        )
        run_workload(
            conn,
            seed=13,
            steps=400,
            members=[f"M-{g}" for g in range(1, 7)],
            skus=[f"SKU-{g}" for g in range(1, 7)],
            weights=[0] * 15 + [30, 0, 1],
        )


def test_random_history_on_the_seeded_data_equals_a_rebuild(seeded_db):
    with seeded_db.connect() as conn:
        # The seeded database starts consistent.
        assert_maintained_equals_rebuild(conn)
        members = [
            r[0] for r in conn.execute("select member_id from public.customers order by member_id limit 40")
        ]
        skus = [
            r[0]
            for r in conn.execute(
                "select sku from public.products where sku is not null order by sku limit 30"
            )
        ]
        run_workload(conn, seed=11, steps=250, members=members, skus=skus)


def test_rebuild_all_repairs_tampered_values(db):
    with db.connect() as conn:
        conn.execute("insert into public.products (product_id, sku, name) values ('P1', 'SKU-1', 'One')")
        conn.execute("insert into public.customers (member_id) values ('T-1'), ('T-2')")
        conn.execute(
            "insert into public.transactions (transaction_id, customer_id, date, staff_name, shop_location, total_amount) "
            "values ('X1', 'T-1', now() - interval '3 days', 'Sam', 'Downtown', 20), "
            "       ('X2', 'T-2', now() - interval '40 days', 'Sam', 'Downtown', 30)"
        )
        conn.execute(
            "insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, "
            "total_price) values ('X1', 1, 'SKU-1', 1, 20, 20), ('X2', 1, 'SKU-1', 1, 30, 30)"
        )
        good = derived_snapshot(conn)
        with conn.transaction():
            for table in ("customers", "customer_visit_patterns", "customer_product_affinity", "staff"):
                conn.execute(f"alter table public.{table} disable trigger user")
            conn.execute(
                "update public.customers set total_visits = 9, lead_score = 30 where member_id = 'T-1'"
            )
            conn.execute("update public.customer_visit_patterns set longest_gap_days = 99")
            conn.execute("delete from public.customer_product_affinity where customer_id = 'T-2'")
            conn.execute("update public.staff set total_sales = 0")
            for table in ("customers", "customer_visit_patterns", "customer_product_affinity", "staff"):
                conn.execute(f"alter table public.{table} enable trigger user")
        changed = conn.execute("select conductor.rebuild_all()").fetchone()[0]
        assert changed == {
            "customers": 1,
            "customer_visit_patterns": 2,
            "customer_product_affinity": 1,
            "staff": 1,
        }
        assert derived_snapshot(conn) == good


def test_concurrent_sales_of_one_customer_both_count(db):
    """The second sale's trigger waits for the first to commit and then sees it: no lost update."""
    db.execute("insert into public.customers (member_id) values ('CC-1')")
    sale = (
        "insert into public.transactions (transaction_id, customer_id, date, staff_name, shop_location, "
        "total_amount) values (%s, 'CC-1', now() - %s::interval, 'Sam', 'Downtown', %s)"
    )
    first = db.connect(autocommit=False)
    second = db.connect(autocommit=False)
    try:
        first.execute(sale, ("CC-A", "2 days", 10))
        done = threading.Event()

        def run_second() -> None:
            second.execute(sale, ("CC-B", "1 day", 20))
            second.commit()
            done.set()

        thread = threading.Thread(target=run_second)
        thread.start()
        assert not done.wait(1.0), "the second sale waits for the first customer refresh"
        first.commit()
        thread.join(30)
        assert done.is_set()
    finally:
        first.close()
        second.close()
    row = db.rows(
        "select total_visits, total_sales, gross_sales, lifetime_value from public.customers where member_id = 'CC-1'"
    )[0]
    assert row == (2, 2, Decimal("30.00"), Decimal("30.00"))
    assert db.rows("select total_transactions, total_sales from public.staff where staff_name = 'Sam'") == [
        (2, Decimal("30.00"))
    ]
    with db.connect() as conn:
        assert_maintained_equals_rebuild(conn)


@pytest.mark.parametrize("table", ["transactions", "transaction_items"])
def test_truncate_rebuilds_derived_data(db, table):
    with db.connect() as conn:
        conn.execute("insert into public.products (product_id, sku, name) values ('P1', 'SKU-1', 'One')")
        conn.execute("insert into public.customers (member_id) values ('TR-1')")
        conn.execute(
            "insert into public.transactions (transaction_id, customer_id, date, staff_name, shop_location, total_amount) "
            "values ('TR1', 'TR-1', now() - interval '3 days', 'Sam', 'Downtown', 20)"
        )
        conn.execute(
            "insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, "
            "total_price) values ('TR1', 1, 'SKU-1', 1, 20, 20)"
        )
        conn.execute(f"truncate public.{table} cascade")
        assert conn.execute("select count(*) from public.customer_product_affinity").fetchone()[0] == 0
        visits = conn.execute(
            "select total_visits from public.customers where member_id = 'TR-1'"
        ).fetchone()[0]
        assert visits == (0 if table == "transactions" else 1)
        assert_maintained_equals_rebuild(conn)


def test_a_first_load_of_many_customers_gives_the_affinity_of_the_per_customer_paths(seeded_db):
    """Product affinity for more than 1,000 customers none of whom has rows yet (a first load, a
    rebuild from raw rows) is inserted by one statement planned for its size: its rows are those
    the sales' maintenance kept on the seeded history, and a rebuild then changes none."""
    columns = (
        "customer_id, product_sku, product_name, category, brand, purchase_count, units_purchased, "
        "total_spent, first_purchased, last_purchased, avg_price_paid, avg_unit_price_weighted, "
        "repurchase_rate, purchase_days, first_visit_number, sale_lines, sale_unit_price_sum, sale_spent"
    )
    query = f"select {columns} from public.customer_product_affinity order by customer_id, product_sku"
    with seeded_db.connect() as conn:
        maintained = conn.execute(query).fetchall()
        assert len({row[0] for row in maintained}) > 50  # the seeded history, many customers
        # Customers without sales take the call past 1,000 ids; they get no rows.
        conn.execute(
            "insert into public.customers (member_id) select 'BULK-' || g from generate_series(1, 1001) as g"
        )
        with conn.transaction():
            conn.execute("delete from public.customer_product_affinity")
            conn.execute(
                "insert into conductor.pending_affinity_refresh (customer_id, wakes_at_commit) "
                "select member_id, false from public.customers order by member_id limit 5"
            )
            ids = [r[0] for r in conn.execute("select member_id from public.customers order by member_id")]
            assert len(ids) > 1000
            written = conn.execute("select conductor.refresh_product_affinity(%s)", (ids,)).fetchone()[0]
            assert written == len(maintained)
            assert conn.execute("select count(*) from conductor.pending_affinity_refresh").fetchone()[0] == 0
        assert conn.execute(query).fetchall() == maintained
        changed = conn.execute("select conductor.rebuild_all()").fetchone()[0]
        assert changed["customer_product_affinity"] == 0
        assert_maintained_equals_rebuild(conn)
