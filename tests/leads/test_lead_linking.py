"""Lead linking both ways, across real statements and connections: a lead that arrives first is
linked when its customer is created; a customer that exists first links the lead it gets; a bulk
customer import links every waiting lead in one set-based pass (one trigger call per statement,
one row trigger call per lead that changes, none per customer); phone numbers that change, move
or disappear move the leads; two inbound messages racing for a new number make one lead."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

LEAD_COLUMNS = "customer_id, lead_status, conversion_probability::text"


def lead(db, phone: str) -> tuple | None:
    rows = db.rows(f"select {LEAD_COLUMNS} from public.leads where phone_number = %s", (phone,))
    return rows[0] if rows else None


def test_lead_first_then_customer(db):
    db.execute("select public.record_inbound_lead('(619) 555-0801', 'do you deliver?')")
    assert lead(db, "+16195550801") == (None, "new", "0.300")

    db.execute("insert into public.customers (member_id, name, phone) values ('K-1', 'Ada', '619-555-0801')")

    assert lead(db, "+16195550801") == ("K-1", "warm", "0.800")


def test_customer_first_then_lead(db):
    db.execute(
        "insert into public.customers (member_id, name, phone) values ('K-2', 'Grace', '+16195550802')"
    )

    result = db.scalar("select public.record_inbound_lead('+1 (619) 555-0802', 'hi')")

    assert result["customer_id"] == "K-2"
    assert result["status"] == "warm"
    assert result["is_new"] is True
    assert lead(db, "+16195550802") == ("K-2", "warm", "0.800")


def test_bulk_customer_import_links_every_waiting_lead_per_statement(db):
    leads = 200
    customers = 3000
    # Leads for every 10th customer's phone, plus leads nobody will match.
    db.execute(
        """
        insert into public.leads (phone_number, lead_status)
        select
            '+1619' || lpad((2000000 + g * 10)::text, 7, '0'),
            case when g %% 4 = 0 then 'hot' else 'new' end
        from generate_series(1, %s) as g
        union all
        select '+1858' || lpad((2000000 + g)::text, 7, '0'), 'new' from generate_series(1, 50) as g
        """,
        (leads,),
    )
    with db.connect(autocommit=False) as conn:
        conn.execute("set local track_functions = 'all'")
        conn.execute(
            """
            insert into public.customers (member_id, name, phone)
            select 'BULK-' || g, 'Customer ' || g, '+1619' || lpad((2000000 + g)::text, 7, '0')
            from generate_series(1, %s) as g
            """,
            (customers,),
        )
        calls = dict(
            conn.execute(
                """
                select funcname, calls from pg_stat_xact_user_functions
                where schemaname = 'conductor'
                  and funcname in ('tg_customers__link_leads', 'tg_leads__link_customer', 'link_leads')
                """
            ).fetchall()
        )
        conn.commit()

    # Once per statement on customers: the import, and the metric updates other triggers make.
    assert 1 <= calls.get("tg_customers__link_leads", 0) <= 5, calls
    # Only the import gave phones: one set-based relink.
    assert calls.get("link_leads") == 1, calls
    # The row trigger ran once per lead that changed, never per imported customer.
    assert calls.get("tg_leads__link_customer") == leads, calls

    summary = db.rows(
        """
        select customer_id is not null, lead_status, conversion_probability::text, count(*)
        from public.leads group by 1, 2, 3 order by 1, 2
        """
    )
    assert summary == [
        (False, "new", "0.300", 50),
        (True, "hot", "0.800", leads // 4),
        (True, "warm", "0.800", leads - leads // 4),
    ]
    mismatched = db.scalar(
        """
        select count(*) from public.leads as l
        join public.customers as c on c.member_id = l.customer_id
        where c.phone <> l.phone_number
        """
    )
    assert mismatched == 0
    assert db.scalar("select count(*) from conductor.lead_events where event = 'linked'") == leads


def test_customer_updates_that_touch_no_phone_write_no_lead(db):
    db.execute(
        "insert into public.customers (member_id, name, phone) values ('K-3', 'Linus', '+16195550803')"
    )
    db.execute("insert into public.leads (phone_number) values ('+16195550803'), ('+16195550804')")
    before = db.rows("select id, xmin::text from public.leads order by id")

    db.execute("update public.customers set name = name || ' T.', loyalty_points = loyalty_points + 5")

    assert db.rows("select id, xmin::text from public.leads order by id") == before


def test_phone_changes_move_the_leads(db):
    db.execute(
        """
        insert into public.customers (member_id, name, phone) values
        ('K-A', 'Alice', '+16195550811'), ('K-B', 'Bob', '+16195550812');
        insert into public.leads (phone_number) values ('+16195550811'), ('+16195550812'), ('+16195550813');
        """
    )
    assert lead(db, "+16195550811") == ("K-A", "warm", "0.800")
    assert lead(db, "+16195550813") == (None, "new", "0.300")

    # Alice changes her number: her old number's lead is unlinked (not demoted), the new one links.
    db.execute("update public.customers set phone = '(619) 555-0813' where member_id = 'K-A'")
    assert lead(db, "+16195550811") == (None, "warm", "0.300")
    assert lead(db, "+16195550813") == ("K-A", "warm", "0.800")

    # Both swap numbers in one statement.
    db.execute(
        """
        update public.customers
        set phone = case member_id when 'K-A' then '+16195550812' else '+16195550813' end
        where member_id in ('K-A', 'K-B')
        """
    )
    assert lead(db, "+16195550812")[0] == "K-A"
    assert lead(db, "+16195550813")[0] == "K-B"

    # Bob's phone is removed.
    db.execute("update public.customers set phone = null where member_id = 'K-B'")
    assert lead(db, "+16195550813") == (None, "warm", "0.300")

    events = db.rows(
        """
        select e.event, e.customer_id, e.previous_customer_id
        from conductor.lead_events as e join public.leads as l on l.id = e.lead_id
        where l.phone_number = '+16195550813' order by e.id
        """
    )
    assert events == [
        ("created", None, None),
        ("linked", "K-A", None),
        ("status_changed", "K-A", None),
        ("linked", "K-B", "K-A"),
        ("unlinked", "K-B", None),
    ]


def test_a_new_visit_moves_a_shared_phone_lead_to_the_recent_visitor(db):
    db.execute(
        """
        insert into public.customers (member_id, name, phone) values
        ('K-OLD', 'Parent', '+16195550821'), ('K-NEW', 'Child', '+16195550821');
        insert into public.transactions (transaction_id, customer_id, date, total_amount) values
        ('K-T1', 'K-NEW', now() - interval '20 days', 10),
        ('K-T2', 'K-OLD', now() - interval '60 days', 10);
        insert into public.leads (phone_number) values ('+16195550821');
        """
    )
    assert lead(db, "+16195550821")[0] == "K-NEW"

    db.execute(
        "insert into public.transactions (transaction_id, customer_id, date, total_amount)"
        " values ('K-T3', 'K-OLD', now(), 10)"
    )

    assert lead(db, "+16195550821")[0] == "K-OLD"
    assert db.scalar("select conductor.customer_for_phone('+16195550821')") == "K-OLD"


@pytest.mark.parametrize("path", ["back-dated sale", "bulk load", "rebuild"])
def test_every_writer_of_the_last_visit_moves_a_shared_phone_lead(db, path):
    """Besides the POS case above: a sale dated before the last visit (recomputed), a bulk
    statement of sales, and a repair after sales written with the maintenance off."""
    phone = "+16195550822"
    db.execute(
        f"""
        insert into public.customers (member_id, name, phone) values
        ('K-OLD', 'Parent', '{phone}'), ('K-NEW', 'Child', '{phone}');
        insert into public.transactions (transaction_id, customer_id, date, total_amount) values
        ('K-T1', 'K-NEW', now() - interval '20 days', 10),
        ('K-T2', 'K-OLD', now() - interval '60 days', 10),
        ('K-T3', 'K-OLD', now() - interval '90 days', 10);
        insert into public.leads (phone_number) values ('{phone}');
        """
    )
    assert lead(db, phone)[0] == "K-NEW"
    if path == "back-dated sale":
        # K-OLD's new sale is not its latest: a back-dated one
        db.execute(
            "update public.transactions set date = now() - interval '5 days' where transaction_id = 'K-T3'"
        )
    elif path == "bulk load":
        db.execute(
            "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
            "select 'K-B' || g, case when g = 1 then 'K-OLD' else 'K-NEW' end, "
            "now() - interval '30 days', 10 from generate_series(1, 1500) as g"
        )
        db.execute(
            "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
            "select 'K-C' || g, 'K-OLD', now() - (g || ' minutes')::interval, 10 "
            "from generate_series(1, 1500) as g"
        )
    else:
        with db.connect() as conn, conn.transaction():
            conn.execute("set local session_replication_role = replica")
            conn.execute(
                "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
                "values ('K-T4', 'K-OLD', now() - interval '1 day', 10)"
            )
        assert lead(db, phone)[0] == "K-NEW", "the maintenance was off"
        db.execute("select conductor.rebuild_all()")
    assert lead(db, phone)[0] == "K-OLD"
    assert db.scalar("select conductor.customer_for_phone(%s)", (phone,)) == "K-OLD"


def wait_until_blocked(db, pid: int) -> None:
    """Returns once backend `pid` waits for a lock (fails after a generous deadline)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.scalar("select wait_event_type = 'Lock' from pg_stat_activity where pid = %s", (pid,)):
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} never waited for a lock")


def test_two_messages_racing_for_a_new_number_make_one_lead(db):
    phone = "+16195550831"
    results: list = []
    with db.connect(autocommit=False) as first, db.connect() as second:
        second_pid = second.info.backend_pid
        first_result = first.execute("select public.record_inbound_lead(%s, 'first')", (phone,)).fetchone()[0]

        def second_call() -> None:
            row = second.execute("select public.record_inbound_lead(%s, 'second')", (phone,)).fetchone()
            results.append(row[0])

        thread = threading.Thread(target=second_call)
        thread.start()
        # The second call waits for the first lead's insert to commit, then updates that lead.
        wait_until_blocked(db, second_pid)
        first.commit()
        thread.join(timeout=60)
        assert not thread.is_alive()

    assert first_result["is_new"] is True
    assert results[0]["is_new"] is False
    assert results[0]["id"] == first_result["id"]
    stored = db.rows("select count(*), max(last_message) from public.leads where phone_number = %s", (phone,))
    assert stored == [(1, "second")]


@pytest.mark.parametrize("bad", ["12345", "call me", "+1 (123) 555-0100"])
def test_record_inbound_lead_refuses_a_malformed_number(db, bad):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="phone_number"):
        db.execute("select public.record_inbound_lead(%s, 'hi')", (bad,))
    assert db.scalar("select count(*) from public.leads") == 0
