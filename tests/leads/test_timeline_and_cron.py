"""The activity timeline across real transactions, and the two pg_cron jobs of this part.

- get_customer_timeline combines the stored rows of public.customer_activity_timeline with what
  changed since its refresh so that, whatever happened in between, it returns exactly what a
  fresh refresh would hold (checked against a freshly refreshed copy);
- the refresh and the cron history cleanup each take their advisory lock: a second run while one
  holds it does nothing;
- on the database pg_cron serves, both jobs are scheduled once under their names, their commands
  run, and the cleanup deletes only finished runs older than the retention setting.
"""

from __future__ import annotations

import psycopg
import pytest

PHONE = "+16195550901"
PROSPECT = "+16195550902"


def timeline(db, phone: str, **kwargs) -> list[tuple]:
    args = ", ".join(f"{k} => %({k})s" for k in kwargs)
    result = db.scalar(
        f"select public.get_customer_timeline(%(phone)s{', ' + args if args else ''})",
        {"phone": phone, **kwargs},
    )
    return [
        (a["activity_type"], a["source_table"], a["source_id"], a["summary"], a["metadata"])
        for a in result["activities"]
    ]


def fresh_view(db, phone: str) -> list[tuple]:
    """What the view holds for this number and its customer right after a refresh."""
    db.execute("select conductor.refresh_activity_timeline()")
    rows = db.rows(
        """
        select activity_type, source_table, source_id, summary, metadata
        from public.customer_activity_timeline
        where customer_id = conductor.customer_for_phone(%(phone)s) or phone_number = %(phone)s
        order by occurred_at desc, source_table, source_id desc
        """,
        {"phone": phone},
    )
    return [tuple(r) for r in rows]


def test_the_timeline_rpc_equals_a_fresh_refresh_whatever_happened_since(db):
    # Only rows written after the newest stored row are read live: the stored path is exercised.
    db.execute("update conductor.settings set value = '0' where key = 'timeline_live_overlap_hours'")
    db.execute(
        f"""
        insert into public.customers (member_id, name, phone) values ('TC-1', 'Ada', '{PHONE}');
        insert into public.products (product_id, sku, name, category)
        values ('TC-P1', 'TC-SKU-1', 'Gummies', 'Edibles');
        """
    )
    for n in range(1, 6):
        db.execute(
            "insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name,"
            " total_amount) values (%s, 'TC-1', now() - make_interval(days => %s), 'Downtown', 'Sam', %s)",
            (f"TC-T{n}", 30 - n, 10 * n),
        )
        db.execute(
            "insert into public.transaction_items (transaction_id, line_number, product_sku, product_name,"
            " category, quantity, unit_price, total_price)"
            " values (%s, 1, 'TC-SKU-1', 'Gummies', 'Edibles', 1, %s, %s)",
            (f"TC-T{n}", 10 * n, 10 * n),
        )
    db.execute(
        f"""insert into public.messages (phone_number, content, timestamp, direction, status, message_kind)
        values ('{PHONE}', 'got any gummies?', now() - interval '2 days', 'inbound', 'unread', 'reply')"""
    )
    db.execute(f"select public.record_inbound_lead('{PROSPECT}', 'hello')")
    db.execute("select conductor.refresh_activity_timeline()")
    stored_before = timeline(db, PHONE)
    assert stored_before == fresh_view(db, PHONE)

    # Everything that can happen between two refreshes.
    db.execute(
        f"""
        insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name,
                                         total_amount)
        values ('TC-T9', 'TC-1', now(), 'Uptown', 'Lee', 99);
        update public.transactions set status = 'voided' where transaction_id = 'TC-T2';
        update public.transactions set customer_id = null where transaction_id = 'TC-T3';
        delete from public.transaction_items where transaction_id = 'TC-T4';
        delete from public.transactions where transaction_id = 'TC-T4';
        update public.messages set status = 'read', read_at = now() where phone_number = '{PHONE}';
        select public.queue_sms('{PHONE}', 'Yes! Mango Gummies are in.');
        select public.record_inbound_lead('{PHONE}', 'great, see you soon');
        update public.customers set phone = '{PROSPECT}' where member_id = 'TC-1';
        """
    )
    live = timeline(db, PHONE)
    prospect_live = timeline(db, PROSPECT)
    assert live == fresh_view(db, PHONE)
    assert prospect_live == fresh_view(db, PROSPECT)

    # The number Ada left keeps its SMS and its lead (linked to her, then unlinked when she left
    # it); her purchases follow her to her new number.
    assert {row[0] for row in live} == {
        "sms_inbound",
        "sms_outbound",
        "lead_created",
        "lead_linked",
        "lead_unlinked",
    }
    kinds = [row[0] for row in prospect_live]
    assert kinds.count("purchase") == 4  # T1, T2 (voided), T5, T9; T3 lost its member, T4 is deleted
    assert {"lead_linked", "lead_status_changed"} <= set(kinds[:3])
    assert prospect_live != stored_before


def test_paging_walks_the_whole_timeline_once(db):
    db.execute(f"insert into public.customers (member_id, name, phone) values ('TC-2', 'Grace', '{PHONE}')")
    db.execute(
        """
        insert into public.transactions (transaction_id, customer_id, date, total_amount)
        select 'TC-P' || g, 'TC-2', timestamptz '2026-01-01 12:00+00' + (g / 3) * interval '1 day', g
        from generate_series(1, 40) as g
        """
    )
    db.execute("select conductor.refresh_activity_timeline()")
    db.execute(
        "insert into public.transactions (transaction_id, customer_id, date, total_amount)"
        " values ('TC-P41', 'TC-2', '2026-01-07 12:00+00', 41)"
    )

    seen, before, sizes = [], None, []
    while True:
        result = db.scalar("select public.get_customer_timeline(%s, 7, %s)", (PHONE, before))
        sizes.append(len(result["activities"]))
        seen += [a["source_id"] for a in result["activities"]]
        if not result["has_more"]:
            break
        before = result["next_before"]
    all_ids = db.rows("select id from public.transactions where customer_id = 'TC-2'")
    assert sorted(seen) == sorted(r[0] for r in all_ids)
    assert len(seen) == len(set(seen))
    # Up to four sales share a time: a page of 7 grows to 10 at most, to keep them together.
    assert all(1 <= size <= 10 for size in sizes), sizes


def test_a_refresh_while_another_holds_the_lock_does_nothing(db):
    db.execute(f"insert into public.customers (member_id, name, phone) values ('TC-3', 'Linus', '{PHONE}')")
    db.execute(
        "insert into public.transactions (transaction_id, customer_id, date, total_amount)"
        " values ('TC-L1', 'TC-3', now(), 5)"
    )
    with db.connect(autocommit=False) as holder:
        holder.execute("select pg_advisory_xact_lock(hashtext('conductor refresh_activity_timeline'))")
        assert db.scalar("select conductor.refresh_activity_timeline()") is False
        assert (
            db.scalar("select count(*) from public.customer_activity_timeline where customer_id = 'TC-3'")
            == 0
        )
    assert db.scalar("select conductor.refresh_activity_timeline()") is True
    assert db.scalar("select count(*) from public.customer_activity_timeline where customer_id = 'TC-3'") == 1


JOBS = {
    "conductor_refresh_activity_timeline": ("25 * * * *", "select conductor.refresh_activity_timeline()"),
    "conductor_refresh_stale_activity_timeline": (
        "* * * * *",
        "select conductor.refresh_stale_activity_timeline()",
    ),
    "conductor_cleanup_cron_history": ("35 3 * * *", "select conductor.cleanup_cron_history()"),
}


def test_the_jobs_are_scheduled_once_and_their_commands_run(cron_db):
    rows = cron_db.rows(
        "select jobname, schedule, command, active from cron.job where jobname = any(%s) order by jobname",
        (list(JOBS),),
    )
    assert {r[0]: (r[1], r[2]) for r in rows} == JOBS
    assert all(r[3] for r in rows)
    for _, command in JOBS.values():
        cron_db.execute(command)


FAKE_RUNS = """
    insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
                                      return_message, start_time, end_time)
    values
    (%(job)s, -101, 1, current_database(), current_user, 'x', 'succeeded', '1 row',
     now() - interval '20 days', now() - interval '20 days'),
    (%(job)s, -102, 1, current_database(), current_user, 'x', 'failed', 'boom',
     now() - interval '15 days', now() - interval '15 days'),
    (%(job)s, -103, 1, current_database(), current_user, 'x', 'failed', 'server restarted',
     now() - interval '30 days', null),
    (%(job)s, -104, 1, current_database(), current_user, 'x', 'succeeded', '1 row',
     now() - interval '13 days', now() - interval '13 days'),
    (%(job)s, -105, 1, current_database(), current_user, 'x', 'running', null,
     now() - interval '40 days', null)
"""


def test_cleanup_deletes_only_finished_runs_older_than_the_retention(cron_db):
    with cron_db.connect(autocommit=False) as conn, cron_db.connect(autocommit=False) as holder:
        jobid = conn.execute(
            "select jobid from cron.job where jobname = 'conductor_cleanup_cron_history'"
        ).fetchone()[0]
        conn.execute(FAKE_RUNS, {"job": jobid})
        fake = "select runid from cron.job_run_details where runid < 0 order by runid desc"

        # Another cleanup holds the lock: this one does nothing.
        holder.execute("select pg_advisory_xact_lock(hashtext('conductor cleanup_cron_history'))")
        assert conn.execute("select conductor.cleanup_cron_history()").fetchone()[0] == 0
        assert len(conn.execute(fake).fetchall()) == 5
        holder.rollback()

        old_real_runs = conn.execute(
            "select count(*) from cron.job_run_details"
            " where runid >= 0 and status in ('succeeded', 'failed')"
            " and end_time < now() - interval '14 days'"
        ).fetchone()[0]
        deleted = conn.execute("select conductor.cleanup_cron_history()").fetchone()[0]
        assert deleted == 3 + old_real_runs
        assert [r[0] for r in conn.execute(fake)] == [-104, -105]

        conn.execute("update conductor.settings set value = '0' where key = 'cron_history_retention_days'")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="cron_history_retention_days"):
            conn.execute("select conductor.cleanup_cron_history()")
        conn.rollback()
