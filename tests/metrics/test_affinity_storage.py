"""customer_product_affinity's storage: conductor.rebuild_all() from raw rows and a first load of
many customers (an empty table) compute every row into a fresh partition and swap it in. The
swapped-in partition is exactly the installed one (schema, privileges, comments, row level
security, indexes, foreign key, triggers), whatever default privileges the database had, and holds
the rows the sales' maintenance kept. Readers of customers go on during the swap. When readers hold
the table past a short wait, or wait on the rebuild themselves (a deadlock in the making), the rows
are inserted in place instead and nobody fails."""

from __future__ import annotations

import threading
import time

from conductor_dev.localdb import schema_dump

from .conftest import (
    assert_maintained_equals_rebuild,
    capture_plans,
    fail_a_first_load_and_analyze,
    first_load,
)

COLUMNS = (
    "customer_id, product_sku, product_name, category, brand, purchase_count, units_purchased, "
    "total_spent, first_purchased, last_purchased, avg_price_paid, avg_unit_price_weighted, "
    "repurchase_rate, purchase_days, first_visit_number, sale_lines, sale_unit_price_sum, sale_spent"
)
ROWS = f"select {COLUMNS} from public.customer_product_affinity order by customer_id, product_sku"
PARTITION = "select 'conductor.customer_product_affinity_rows'::regclass::oid"
WAIT_BOUND_S = 120  # generous: the condition usually holds within milliseconds


def emptied(conn) -> list[tuple]:
    """The maintained rows, then an empty table: what a rebuild from raw rows starts from."""
    rows = conn.execute(ROWS).fetchall()
    assert len({row[0] for row in rows}) > 50  # the seeded history, many customers
    conn.execute("delete from public.customer_product_affinity")
    return rows


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_BOUND_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_rebuild_from_raw_rows_swaps_in_a_partition_exactly_as_installed(seeded_db):
    with seeded_db.connect() as conn:
        maintained = emptied(conn)
        # Whatever the database grants on new tables, the new partition gets the installed one's privileges.
        conn.execute("alter default privileges in schema conductor grant all on tables to anon, service_role")
        conn.execute("alter default privileges grant all on tables to public")
        before = schema_dump(seeded_db.url)
        partition_before = conn.execute(PARTITION).fetchone()[0]
        changed = conn.execute("select conductor.rebuild_all()").fetchone()[0]
        assert changed["customer_product_affinity"] == len(maintained)
        assert conn.execute(PARTITION).fetchone()[0] != partition_before
        assert conn.execute(ROWS).fetchall() == maintained
        assert conn.execute(
            "select has_table_privilege(r, 'conductor.customer_product_affinity_rows', 'select') "
            "from unnest(array['anon', 'service_role', 'public']) as r"
        ).fetchall() == [(False,), (False,), (False,)]
        assert schema_dump(seeded_db.url) == before
        # The table's trigger runs on the new partition: an updated row moves updated_at.
        key = maintained[0][:2]
        conn.execute(
            "update public.customer_product_affinity set brand = 'x', updated_at = updated_at "
            "where customer_id = %s and product_sku = %s",
            key,
        )
        assert conn.execute(
            "select updated_at > created_at from public.customer_product_affinity "
            "where customer_id = %s and product_sku = %s",
            key,
        ).fetchone()[0]
        conn.execute("select conductor.rebuild_all()")
        assert_maintained_equals_rebuild(conn)


def test_a_reader_holding_the_table_makes_the_rebuild_insert_in_place(seeded_db):
    with seeded_db.connect() as conn, seeded_db.connect(autocommit=False) as reader:
        maintained = emptied(conn)
        partition_before = conn.execute(PARTITION).fetchone()[0]
        reader.execute("select count(*) from public.customer_product_affinity")  # its transaction stays open
        changed = conn.execute("select conductor.rebuild_all()").fetchone()[0]
        reader.rollback()
        assert changed["customer_product_affinity"] == len(maintained)
        assert conn.execute(PARTITION).fetchone()[0] == partition_before
        assert conn.execute(ROWS).fetchall() == maintained
        assert_maintained_equals_rebuild(conn)


def test_readers_of_customers_neither_stop_the_swap_nor_wait_for_it(seeded_db):
    with (
        seeded_db.connect() as conn,
        seeded_db.connect(autocommit=False) as reader,
        seeded_db.connect() as late_reader,
    ):
        maintained = emptied(conn)
        partition_before = conn.execute(PARTITION).fetchone()[0]
        customers = reader.execute("select count(*) from public.customers").fetchone()[0]  # stays open
        with conn.transaction():
            changed = conn.execute("select conductor.rebuild_all()").fetchone()[0]
            assert conn.execute(PARTITION).fetchone()[0] != partition_before
            # The swap is not committed yet: a new reader of customers is served at once.
            late_reader.execute("set lock_timeout = '100s'")
            late_reader.execute("set statement_timeout = '100s'")
            assert late_reader.execute("select count(*) from public.customers").fetchone()[0] == customers
        reader.rollback()
        assert changed["customer_product_affinity"] == len(maintained)
        assert conn.execute(ROWS).fetchall() == maintained
        assert_maintained_equals_rebuild(conn)


def test_a_first_load_of_many_customers_swaps_in_fresh_storage(db):
    with db.connect() as conn:
        partition_before = conn.execute(PARTITION).fetchone()[0]
        first_load(conn, 1200)
        assert conn.execute(PARTITION).fetchone()[0] != partition_before
        assert conn.execute("select count(*) from public.customer_product_affinity").fetchone()[0] == 1200
        assert_maintained_equals_rebuild(conn)


def test_a_first_load_after_a_failed_one_joins_lines_to_transactions_by_key(db):
    """A first import retried after one that failed: the tables' statistics say they are empty while
    their pages are not, so the planner expects one row where thousands come. The affinity pass over
    everyone still joins the lines to their transactions by key (hashed, merged or looked up), never
    by a nested loop that compares every line with every transaction (a join filter)."""
    with db.connect() as conn:
        fail_a_first_load_and_analyze(conn, 1200)
        plans = capture_plans(conn)
        partition_before = conn.execute(PARTITION).fetchone()[0]
        first_load(conn, 1200)
        affinity_plans = [p for p in plans if "insert into conductor.customer_product_affinity_next" in p]
        assert len(affinity_plans) == 1
        assert "Join Filter" not in affinity_plans[0], affinity_plans[0]
        assert conn.execute(PARTITION).fetchone()[0] != partition_before
        assert conn.execute("select count(*) from public.customer_product_affinity").fetchone()[0] == 1200
        assert_maintained_equals_rebuild(conn)


def test_a_first_load_beside_a_reader_of_the_table_inserts_in_place(db):
    with db.connect() as conn, db.connect(autocommit=False) as reader:
        partition_before = conn.execute(PARTITION).fetchone()[0]
        reader.execute("select count(*) from public.customer_product_affinity")  # its transaction stays open
        first_load(conn, 1200)
        reader.rollback()
        assert conn.execute(PARTITION).fetchone()[0] == partition_before
        assert conn.execute("select count(*) from public.customer_product_affinity").fetchone()[0] == 1200
        assert_maintained_equals_rebuild(conn)


def test_a_reader_waiting_on_the_rebuild_is_never_deadlocked_by_its_swap(seeded_db):
    """The reader read affinity, then waits for a customer row the rebuild holds, past its own
    deadlock check: the swap's ACCESS EXCLUSIVE wait on the table closes a cycle. The rebuild's deadlock check
    ends its wait, it inserts in place, and the reader then gets its row."""
    with (
        seeded_db.connect() as conn,
        seeded_db.connect(autocommit=False) as reader,
        seeded_db.connect() as monitor,
    ):
        maintained = emptied(conn)
        customer = maintained[0][0]
        partition_before = conn.execute(PARTITION).fetchone()[0]
        reader_pid = reader.execute("select pg_backend_pid()").fetchone()[0]
        reader.execute("select count(*) from public.customer_product_affinity")
        outcome: dict = {}

        def lock_the_customer() -> None:
            try:
                reader.execute("select 1 from public.customers where member_id = %s for update", (customer,))
                outcome["reader"] = "got the row"
            except Exception as exc:  # noqa: BLE001 - the assertion below names it
                outcome["reader"] = repr(exc)

        with conn.transaction():
            conn.execute("select conductor.lock_customers(array(select member_id from public.customers))")
            waiting = threading.Thread(target=lock_the_customer)
            waiting.start()
            # The reader waits on the row lock, past its one deadlock check.
            wait_until(
                lambda: monitor.execute(
                    "select a.wait_event_type = 'Lock' and clock_timestamp() - a.query_start "
                    "> (select setting::integer from pg_settings where name = 'deadlock_timeout') "
                    "* interval '1 ms' * 2 "
                    "from pg_stat_activity as a where a.pid = %s",
                    (reader_pid,),
                ).fetchone()[0],
                "the reader to wait on the customer's row",
            )
            changed = conn.execute("select conductor.rebuild_all()").fetchone()[0]
        waiting.join(WAIT_BOUND_S)
        reader.rollback()
        assert outcome.get("reader") == "got the row"
        assert changed["customer_product_affinity"] == len(maintained)
        assert conn.execute(PARTITION).fetchone()[0] == partition_before
        assert conn.execute(ROWS).fetchall() == maintained
