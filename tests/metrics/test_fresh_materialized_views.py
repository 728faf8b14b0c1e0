"""The materialized views hold what was loaded as soon as a load commits: the demo install and
every conductor.import_all end by refreshing the win-back queue and the activity timeline, so a
daily win-back run right after a load does not wait for the hourly job. conductor.rebuild_all
refreshes the queue and marks the timeline stale: get_customer_timeline then reads the base
tables until the per-minute job has refreshed it."""

from __future__ import annotations

import threading
import time
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


def test_rebuild_all_refreshes_the_queue_and_marks_the_timeline_for_the_minute_job(seeded_db):
    stale = "select count(*) from conductor.stale_materialized_views"
    with seeded_db.connect() as conn:
        # Rows written with the maintenance off leave the views behind: a new lapsed customer, and
        # an older sale's amount changed without its updated_at (so the timeline's live part,
        # which reads what was written since the stored rows, does not see it).
        phone, sale, amount = conn.execute(
            "select c.phone, t.transaction_id, t.total_amount from public.transactions as t "
            "join public.customers as c on c.member_id = t.customer_id "
            "where t.status = 'completed' and c.phone in ("
            "  select phone from public.customers where phone is not null group by phone having count(*) = 1) "
            "and (select count(*) from public.transactions as o where o.customer_id = c.member_id) >= 2 "
            "order by t.date desc, t.transaction_id limit 1"
        ).fetchone()
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            conn.execute(
                "update public.transactions set updated_at = now() - interval '10 days' where transaction_id = %s",
                (sale,),
            )
        conn.execute("select conductor.refresh_activity_timeline()")
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            conn.execute(
                "insert into public.customers (member_id, name, phone) values ('REB-1', 'Re Built', '+16195554321')"
            )
            conn.execute(
                "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
                "values ('REB-T1', 'REB-1', "
                "((conductor.store_today() - 50) + time '12:00') at time zone conductor.store_time_zone(), 30.00)"
            )
            conn.execute(
                "update public.transactions set total_amount = total_amount + 1000 where transaction_id = %s",
                (sale,),
            )

        def shown_amount() -> str:
            timeline = conn.execute("select public.get_customer_timeline(%s)", (phone,)).fetchone()[0]
            return next(
                a["metadata"]["amount"]
                for a in timeline["activities"]
                if a["source_table"] == "transactions" and a["metadata"]["transaction_id"] == sale
            )

        assert float(shown_amount()) == float(amount), "before the repair the stored row is shown"
        assert conn.execute(stale).fetchone()[0] == 0

        conn.execute("select conductor.rebuild_all()")
        assert conn.execute(
            "select days_since_last_visit from public.win_back_priority_queue where customer_id = 'REB-1'"
        ).fetchone() == (50,)
        assert conn.execute("select view_name from conductor.stale_materialized_views").fetchall() == [
            ("public.customer_activity_timeline",)
        ]
        # Until the refresh, the timeline comes from the base tables.
        assert float(shown_amount()) == float(amount) + 1000

        assert conn.execute("select conductor.refresh_stale_activity_timeline()").fetchone()[0] is True
        assert conn.execute(stale).fetchone()[0] == 0
        assert conn.execute(
            "select a.customer_id from public.customer_activity_timeline as a "
            "join public.transactions as t on a.source_table = 'transactions' and a.source_id = t.id "
            "where t.transaction_id = 'REB-T1'"
        ).fetchall() == [("REB-1",)]
        assert float(shown_amount()) == float(amount) + 1000
        # Nothing marked: the minute job does nothing.
        assert conn.execute("select conductor.refresh_stale_activity_timeline()").fetchone()[0] is False


def wait_until_blocked(db, pid: int) -> None:
    """Returns once backend `pid` waits for a lock (fails after a generous deadline)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.scalar("select wait_event_type = 'Lock' from pg_stat_activity where pid = %s", (pid,)):
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} never waited for a lock")


def test_a_repair_marked_while_the_timeline_refreshes_stays_marked(seeded_db):
    """The refresh clears only the mark it saw before it began: a repair that marks the view
    again meanwhile (its changes may be newer than the refresh's snapshot) stays marked."""
    marks = "select marked_at from conductor.stale_materialized_views"
    seeded_db.execute(
        "insert into conductor.stale_materialized_views (view_name) values ('public.customer_activity_timeline')"
    )
    first_mark = seeded_db.scalar(marks)
    results: list = []
    with seeded_db.connect(autocommit=False) as holder, seeded_db.connect() as refresher:
        # The refresh reads the lead events: holding them makes it wait after it read the mark.
        holder.execute("lock table conductor.lead_events in access exclusive mode")

        def refresh() -> None:
            results.append(
                refresher.execute("select conductor.refresh_stale_activity_timeline()").fetchone()[0]
            )

        thread = threading.Thread(target=refresh)
        thread.start()
        wait_until_blocked(seeded_db, refresher.info.backend_pid)
        seeded_db.execute(
            "update conductor.stale_materialized_views set marked_at = clock_timestamp() "
            "where view_name = 'public.customer_activity_timeline'"
        )
        holder.commit()
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert results == [True]
    second_mark = seeded_db.scalar(marks)
    assert second_mark is not None and second_mark > first_mark
    # The next run takes it off.
    assert seeded_db.scalar("select conductor.refresh_stale_activity_timeline()") is True
    assert seeded_db.scalar(marks) is None
