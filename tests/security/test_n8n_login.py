"""The n8n login that docs/n8n.md tells a user to create really has the API's rights: it reads
every customer and queues a text, as service_role does."""

from __future__ import annotations

import psycopg

from tests.security._n8n_setup import documented_setup_sql


def test_documented_n8n_login_reads_and_writes_like_service_role(seeded_db, login_role) -> None:
    n8n = login_role("n8n", documented_setup_sql("{role}"))
    customers = seeded_db.scalar("select count(*) from public.customers")
    assert customers > 0
    conninfo = psycopg.conninfo.make_conninfo(seeded_db.url, user=n8n, password="change-me")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert conn.execute("select session_user, current_user").fetchone() == (n8n, "service_role")
        assert conn.execute("select count(*) from public.customers").fetchone()[0] == customers
        phone = "+16195550187"  # not a demo customer's, never opted out
        inbound = conn.execute(
            "insert into public.messages (phone_number, direction, content, status)"
            " values (%s, 'inbound', 'hello, are you open today?', 'unread') returning id",
            (phone,),
        ).fetchone()[0]
        queued = conn.execute(
            "select public.queue_sms(phone_number => %s::text, content => 'Deals this week',"
            " message_kind => 'marketing')",
            (phone,),
        ).fetchone()[0]
        assert inbound is not None and queued is not None
        assert (
            conn.execute("select count(*) from public.messages where phone_number = %s", (phone,)).fetchone()[
                0
            ]
            == 2
        )
        # And nothing beyond the API: the private schema stays closed.
        try:
            conn.execute("select count(*) from conductor.settings")
        except psycopg.errors.InsufficientPrivilege:
            pass
        else:
            raise AssertionError("the n8n login reads conductor.settings")
