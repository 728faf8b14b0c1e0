"""The win-back queue reads the day counts and churn stored on customers, so every refresh brings
them to the store's today first: the hourly job through conductor.refresh_scores, the nightly
refresh by writing them before it refreshes. The nightly refresh rewrites the queue the plain way
(cheaper when every row changes), but never makes readers queue behind a reader that holds it."""

from __future__ import annotations

import psycopg

QUEUE_DAYS = "select customer_id, days_since_last_visit from public.win_back_priority_queue order by 1"
LIVE_DAYS = """
    select q.customer_id, v.days_since_last_visit
    from public.win_back_priority_queue as q
    join public.customer_sms_context as v on v.member_id = q.customer_id
    order by q.customer_id
"""


def queue_file(conn: psycopg.Connection) -> int:
    """The queue's file: a plain refresh writes a new one, a concurrent one edits it in place."""
    return conn.execute("select pg_relation_filenode('public.win_back_priority_queue')").fetchone()[0]


def make_stored_days_yesterdays(conn: psycopg.Connection) -> None:
    """What the stored values look like when the store's date has turned and nothing ran yet
    (written with the maintenance triggers off, as a bulk fix-up would)."""
    with conn.transaction():
        conn.execute("set local session_replication_role = replica")
        conn.execute(
            "update public.customers set days_since_last_visit = days_since_last_visit - 1 "
            "where days_since_last_visit > 0"
        )


def test_the_hourly_refresh_brings_stale_stored_scores_to_today_first(seeded_db):
    with seeded_db.connect() as conn:
        conn.execute("select conductor.refresh_win_back()")
        before = conn.execute(QUEUE_DAYS).fetchall()
        assert before, "the demo data queues lapsed customers"
        make_stored_days_yesterdays(conn)
        assert conn.execute("select conductor.refresh_win_back()").fetchone() == (True,)
        assert conn.execute(QUEUE_DAYS).fetchall() == conn.execute(LIVE_DAYS).fetchall() == before
        stale = conn.execute(
            "select count(*) from public.customers as c join conductor.customer_scores as s on s.id = c.id "
            "where c.days_since_last_visit is distinct from s.days_since_last_visit"
        ).fetchone()[0]
        assert stale == 0


def test_the_nightly_refresh_does_not_wait_on_a_reader_holding_the_queue(seeded_db):
    with seeded_db.connect() as conn, seeded_db.connect(autocommit=False) as reader:
        make_stored_days_yesterdays(conn)
        conn.execute("refresh materialized view public.win_back_priority_queue")
        yesterdays = conn.execute(QUEUE_DAYS).fetchall()
        file_before = queue_file(conn)
        # A reader in the middle of a transaction that read the queue holds a lock on it.
        reader.execute("select count(*) from public.win_back_priority_queue").fetchone()
        result = conn.execute("select conductor.nightly_refresh()").fetchone()[0]
        assert result["ran"] is True and result["customers"] > 0
        # Refreshed beside the reader (concurrently, in place) while its transaction is open.
        assert reader.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert queue_file(conn) == file_before
        refreshed = conn.execute(QUEUE_DAYS).fetchall()
        assert refreshed == conn.execute(LIVE_DAYS).fetchall()
        assert refreshed != yesterdays
        reader.rollback()


def test_the_nightly_refresh_rewrites_the_queue_plainly_without_readers(seeded_db):
    with seeded_db.connect() as conn:
        make_stored_days_yesterdays(conn)
        conn.execute("refresh materialized view public.win_back_priority_queue")
        file_before = queue_file(conn)
        conn.execute("select conductor.nightly_refresh()")
        assert queue_file(conn) != file_before
        assert conn.execute(QUEUE_DAYS).fetchall() == conn.execute(LIVE_DAYS).fetchall()
