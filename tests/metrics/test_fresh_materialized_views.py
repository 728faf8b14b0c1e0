"""The materialized views hold what was loaded as soon as a load commits: the demo install and
every conductor.import_all (and rebuild_all) end by refreshing the win-back queue and the
activity timeline, so a daily win-back run right after a load does not wait for the hourly job."""

from __future__ import annotations

from datetime import timedelta

import psycopg

QUEUE = "select * from public.win_back_priority_queue order by priority_rank"
TIMELINE = "select * from public.customer_activity_timeline order by source_table, source_id"


def rows(conn: psycopg.Connection, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def test_a_fresh_seeded_install_has_a_full_win_back_queue(seeded_db):
    with seeded_db.connect() as conn:
        queue, timeline = rows(conn, QUEUE), rows(conn, TIMELINE)
        lapsed = conn.execute(
            """
            select count(distinct phone) from public.customer_sms_context
            where churn_risk in ('Medium', 'High') and days_since_last_visit > 30
                and phone is not null and not opted_out
            """
        ).fetchone()[0]
        assert lapsed > 0, "the demo data has lapsed customers"
        assert len(queue) == lapsed
        transactions = conn.execute(
            "select count(*) from public.transactions where customer_id is not null"
        ).fetchone()[0]
        assert len(timeline) >= transactions > 0
        # Nothing left for a refresh to change.
        conn.execute("refresh materialized view public.win_back_priority_queue")
        conn.execute("refresh materialized view public.customer_activity_timeline")
        assert rows(conn, QUEUE) == queue
        assert rows(conn, TIMELINE) == timeline


def stage_sale(
    conn: psycopg.Connection, source: str, transaction_id: str, member_id: str, day, sku: str
) -> None:
    conn.execute(
        "insert into conductor.staging_transactions "
        "(source, transaction_id, customer_id, date, shop_location, staff_name, total_amount) "
        "values (%s, %s, %s, %s, 'Downtown', 'Alex', '42.00')",
        (source, transaction_id, member_id, f"{day} 12:00:00-08:00"),
    )
    conn.execute(
        "insert into conductor.staging_transaction_items "
        "(source, transaction_id, line_number, product_sku, product_name, category, quantity, unit_price, "
        "total_price) values (%s, %s, '1', %s, 'Fresh Gummies', 'Edibles', '1', '42.00', '42.00')",
        (source, transaction_id, sku),
    )


def test_an_import_reaches_the_queue_and_the_timeline_at_once(seeded_db):
    with seeded_db.connect() as conn:
        today = conn.execute("select conductor.store_today()").fetchone()[0]
        # A queued customer who comes back today, and a new customer whose only visit was 45 days ago.
        back = conn.execute(
            "select customer_id from public.win_back_priority_queue order by priority_rank limit 1"
        ).fetchone()[0]
        sku = conn.execute("select sku from public.products order by sku limit 1").fetchone()[0]
        with conn.transaction():
            conn.execute(
                "insert into conductor.staging_customers (source, member_id, name, phone, loyalty_points) "
                "values ('fresh', 'FRESH-1', 'Fresh Face', '+16195559876', '12')"
            )
            stage_sale(conn, "fresh", "FRESH-T1", "FRESH-1", today - timedelta(45), sku)
            stage_sale(conn, "fresh", "FRESH-T2", back, today, sku)
            result = conn.execute("select conductor.import_all('fresh')").fetchone()[0]
        assert result["transactions"]["inserted"] == 2 and result["transaction_items"]["inserted"] == 2

        queued = {
            r[0]: r[1:]
            for r in conn.execute(
                "select customer_id, days_since_last_visit, favorite_category, recommended_offer "
                "from public.win_back_priority_queue"
            )
        }
        assert queued["FRESH-1"] == (45, "Edibles", "Buy 2 get 1 free edibles")
        assert back not in queued, "a customer who visited today left the queue"
        timeline = conn.execute(
            "select t.transaction_id, a.customer_id, a.activity_type from public.customer_activity_timeline as a "
            "join public.transactions as t on a.source_table = 'transactions' and a.source_id = t.id "
            "where t.transaction_id in ('FRESH-T1', 'FRESH-T2') order by t.transaction_id"
        ).fetchall()
        assert timeline == [("FRESH-T1", "FRESH-1", "purchase"), ("FRESH-T2", back, "purchase")]


def test_rebuild_all_leaves_both_views_current(seeded_db):
    with seeded_db.connect() as conn:
        # Rows written with the maintenance off leave the views behind; rebuild_all catches up.
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            conn.execute(
                "insert into public.customers (member_id, name, phone) values ('REB-1', 'Re Built', '+16195554321')"
            )
            conn.execute(
                "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
                "values ('REB-T1', 'REB-1', now() - interval '50 days', 30.00)"
            )
        conn.execute("select conductor.rebuild_all()")
        assert conn.execute(
            "select days_since_last_visit from public.win_back_priority_queue where customer_id = 'REB-1'"
        ).fetchone() == (50,)
        assert conn.execute(
            "select a.customer_id from public.customer_activity_timeline as a "
            "join public.transactions as t on a.source_table = 'transactions' and a.source_id = t.id "
            "where t.transaction_id = 'REB-T1'"
        ).fetchall() == [("REB-1",)]
