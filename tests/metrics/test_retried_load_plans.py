"""Bulk statements planned from true statistics. A first import retried after one that failed: the
failed one left only dead rows, and an ANALYZE (by hand or by autovacuum) then recorded the
tables as empty although their pages are there, so a planner trusting that expects a row or two
however many the retry brings. Derived rows deleted by hand and written again, and a partial
index created on an empty table (a fresh install), mislead it the same way. The maintenance of a
bulk statement, and rebuild_all, analyze such tables first, so the recompute of every customer is
planned for what the tables hold: each customer's rows are found by key, never by reading every
row once per customer (a quadratic load: at seed scale the visit patterns alone took 27 s instead
of 0.5 s)."""

from __future__ import annotations

from .conftest import (
    assert_maintained_equals_rebuild,
    capture_plans,
    fail_a_first_load_and_analyze,
    first_load,
)

TABLES = ("public.customers", "public.transactions", "public.transaction_items")
CUSTOMERS = 1200
LOADED_CUSTOMERS = "select count(*) from public.customers where member_id like 'LOAD-%%' and total_visits = 1"
TRANSACTIONS_ESTIMATE = (
    "select reltuples from pg_catalog.pg_class where oid = 'public.transactions'::regclass"
)
ANALYZE_IF_UNDERESTIMATED = "select conductor.analyze_if_underestimated('public.transactions', %s)"


def _value(conn, sql: str, params=None):
    return conn.execute(sql, params).fetchone()[0]


def test_a_retried_first_load_recomputes_visit_patterns_by_key(db):
    with db.connect() as conn:
        fail_a_first_load_and_analyze(conn, CUSTOMERS)
        plans = capture_plans(conn)
        first_load(conn, CUSTOMERS)
        patterns = [p for p in plans if "with visit_days as" in p and "Query Text" in p]
        assert len(patterns) == 1
        # The bad plan joins every transaction to the list of customers by a filter.
        assert "Join Filter: (t.customer_id = m" not in patterns[0], patterns[0]
        assert _value(conn, LOADED_CUSTOMERS) == CUSTOMERS
        assert_maintained_equals_rebuild(conn)


def test_a_retried_first_load_leaves_the_tables_statistics_true(db):
    with db.connect() as conn:
        fail_a_first_load_and_analyze(conn, CUSTOMERS)
        first_load(conn, CUSTOMERS)
        estimates = dict(
            conn.execute(
                "select c.oid::regclass::text, c.reltuples from pg_catalog.pg_class as c "
                "where c.oid = any(%s::regclass[])",
                (list(TABLES),),
            ).fetchall()
        )
        assert estimates == dict.fromkeys(("customers", "transactions", "transaction_items"), CUSTOMERS)


def test_a_bulk_statement_leaves_fresh_statistics_alone(db):
    """Statistics that expect about what the tables hold are kept: a bulk statement on top of a
    loaded and analyzed table runs no ANALYZE (which would count this transaction's rows too)."""
    with db.connect() as conn:
        first_load(conn, CUSTOMERS)
        conn.execute(f"analyze {', '.join(TABLES)}")
        with conn.transaction():
            conn.execute(
                "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
                "select 'TX-MORE-' || g, 'LOAD-' || g, now() - g * interval '1 minute', 10 "
                "from generate_series(1, %s) as g",
                (CUSTOMERS,),
            )
            assert _value(conn, TRANSACTIONS_ESTIMATE) == CUSTOMERS
            assert _value(conn, ANALYZE_IF_UNDERESTIMATED, (2 * CUSTOMERS,)) is False
            # Expecting far more than the statistics promise: analyzed, this transaction's rows counted.
            assert _value(conn, ANALYZE_IF_UNDERESTIMATED, (10 * CUSTOMERS,)) is True
            assert _value(conn, TRANSACTIONS_ESTIMATE) == 2 * CUSTOMERS


def test_a_rebuild_from_raw_rows_loaded_after_a_failed_load_recomputes_by_key(db):
    """Raw rows loaded with the triggers off (a restore), on statistics of the failed load: the
    repair analyzes before it plans its recomputations."""
    with db.connect() as conn:
        fail_a_first_load_and_analyze(conn, CUSTOMERS)
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            first_load(conn, CUSTOMERS)
        plans = capture_plans(conn)
        conn.execute("select conductor.rebuild_all()")
        patterns = [p for p in plans if "with visit_days as" in p and "Query Text" in p]
        assert len(patterns) == 1
        assert "Join Filter: (t.customer_id = m" not in patterns[0], patterns[0]
        assert _value(conn, LOADED_CUSTOMERS) == CUSTOMERS
        assert_maintained_equals_rebuild(conn)


def test_visit_patterns_written_again_after_a_delete_and_an_analyze_are_compared_by_key(db):
    """Derived rows deleted by hand, an ANALYZE, a rebuild that writes them all again: their
    statistics say none while every customer has one. A bulk load then compares its recomputed
    patterns with the stored ones by key, not by reading every stored row once per customer."""
    with db.connect() as conn:
        first_load(conn, CUSTOMERS)
        # Autovacuum would otherwise set the statistics right whenever it came by.
        conn.execute("alter table public.customer_visit_patterns set (autovacuum_enabled = false)")
        conn.execute(
            "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
            "select 'TX-EARLIER-' || g, 'LOAD-' || g, now() - interval '5 days' - g * interval '1 hour', 10 "
            "from generate_series(1, %s) as g",
            (CUSTOMERS,),
        )
        conn.execute("delete from public.customer_visit_patterns")
        conn.execute("analyze public.customer_visit_patterns")
        conn.execute("select conductor.rebuild_all()")
        assert conn.execute(
            "select c.reltuples, c.relpages > 0, (select count(*) from public.customer_visit_patterns) "
            "from pg_catalog.pg_class as c where c.oid = 'public.customer_visit_patterns'::regclass"
        ).fetchone() == (0, True, CUSTOMERS)
        plans = capture_plans(conn)
        conn.execute(
            "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
            "select 'TX-EARLIEST-' || g, 'LOAD-' || g, now() - interval '9 days' - g * interval '1 hour', 10 "
            "from generate_series(1, %s) as g",
            (CUSTOMERS,),
        )
        patterns = [p for p in plans if "with visit_days as" in p and "Query Text" in p]
        assert len(patterns) == 1
        assert "Join Filter: (p.customer_id = m" not in patterns[0], patterns[0]
        assert "Join Filter: (t.customer_id = m" not in patterns[0], patterns[0]
        assert (
            _value(conn, "select count(*) from public.customer_visit_patterns where total_visits = 3")
            == CUSTOMERS
        )
        assert_maintained_equals_rebuild(conn)


def test_a_first_load_into_a_fresh_install_recomputes_visit_patterns_by_key(db):
    """A partial index created on an empty table counts as empty until the table is first
    analyzed, whatever it holds: the first bulk load analyzes the table before planning."""
    with db.connect() as conn:
        assert conn.execute(
            "select c.reltuples from pg_catalog.pg_class as c "
            "where c.oid = 'public.transactions_customer_id_sales_idx'::regclass"
        ).fetchone() == (0,)
        plans = capture_plans(conn)
        first_load(conn, CUSTOMERS)
        patterns = [p for p in plans if "with visit_days as" in p and "Query Text" in p]
        assert len(patterns) == 1
        assert "Join Filter: (t.customer_id = m" not in patterns[0], patterns[0]
        assert (
            _value(
                conn,
                "select c.reltuples from pg_catalog.pg_class as c "
                "where c.oid = 'public.transactions_customer_id_sales_idx'::regclass",
            )
            == CUSTOMERS
        )
        assert_maintained_equals_rebuild(conn)
