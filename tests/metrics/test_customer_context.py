"""The ready-made AI context (conductor.customer_context): a write that can change a customer's
context makes their row stale in the same transaction, the view and get_customer_insights then
compute it live, the builder makes it current again with the same values, a build that raced a
sale is never served, and a ready answer is served only on the store date it was built for."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from .conftest import CONTEXT_COLUMNS, Line, Shop, assert_ready_context_is_live


def state(shop: Shop, member_id: str) -> dict | None:
    return shop.row(
        "select version, built_version, built_version = version as current "
        "from conductor.customer_context where customer_id = %s",
        (member_id,),
    )


def served(shop: Shop, member_id: str) -> dict:
    return shop.row(
        f"select {CONTEXT_COLUMNS} from public.customer_sms_context where member_id = %s", (member_id,)
    )


def build(shop: Shop) -> int:
    return shop.conn.execute("select conductor.refresh_customer_context()").fetchone()[0]


def test_a_sale_makes_the_context_stale_and_the_view_shows_it_at_once(db):
    with db.connect() as conn:
        shop = Shop(conn)
        shop.customer("C-1", phone="+16195550101")
        shop.sale("C-1", 10, 30, lines=[Line("SKU-A", 30, name="Blue Dream", category="Flower")])
        assert build(shop) == 1
        assert state(shop, "C-1")["current"]
        before = served(shop, "C-1")
        assert before["favorite_products"][0]["product_sku"] == "SKU-A"

        shop.sale(
            "C-1",
            1,
            12,
            staff=("Sam", "Uptown"),
            lines=[Line("SKU-B", 12, name="Gummies", category="Edibles")],
        )
        assert not state(shop, "C-1")["current"]
        after = served(shop, "C-1")
        assert after["recent_purchases"][0]["items"][0]["product_sku"] == "SKU-B"
        assert len(after["recent_purchases"]) == 2

        assert build(shop) == 1
        assert state(shop, "C-1")["current"]
        assert served(shop, "C-1") == after
        assert build(shop) == 0  # nothing left to build


def test_lines_added_later_a_catalogue_rename_and_a_void_each_make_it_stale(db):
    with db.connect() as conn:
        shop = Shop(conn)
        shop.customer("C-2")
        shop.product("SKU-N", name="Old catalogue name", category="Vapes")
        tx = shop.sale("C-2", 5, 20, lines=[Line("SKU-N", 20)])  # the line carries no name
        build(shop)
        assert served(shop, "C-2")["favorite_products"][0]["product_name"] == "Old catalogue name"

        conn.execute("update public.products set name = 'New catalogue name' where sku = 'SKU-N'")
        assert not state(shop, "C-2")["current"]
        assert served(shop, "C-2")["favorite_products"][0]["product_name"] == "New catalogue name"

        build(shop)
        conn.execute(
            "insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, "
            "total_price) values (%s, 9, null, 1, 4, 4)",
            (tx,),
        )
        assert not state(shop, "C-2")["current"]
        assert len(served(shop, "C-2")["recent_purchases"][0]["items"]) == 2

        build(shop)
        conn.execute("update public.transactions set status = 'voided' where transaction_id = %s", (tx,))
        assert not state(shop, "C-2")["current"]
        assert served(shop, "C-2")["recent_purchases"] == []
        assert_ready_context_is_live(conn)


def test_a_build_that_raced_a_sale_leaves_the_row_stale(db):
    """The builder reads the customer while a sale is in flight, waits for the sale's lock and
    writes what it read: the sale's higher version outlives it, so the old values are not served."""
    with db.connect() as conn:
        shop = Shop(conn)
        shop.customer("C-3")
        shop.sale("C-3", 20, 10, lines=[Line("SKU-R", 10, name="First")])
        build(shop)
        shop.sale("C-3", 10, 10, lines=[Line("SKU-R", 10, name="Second")])  # stale, committed
        seller = db.connect(autocommit=False)
        builder = db.connect()
        try:
            shop_in_flight = Shop(seller, _counter=100)
            shop_in_flight.sale("C-3", 1, 10, lines=[Line("SKU-S", 10, name="In flight")])
            result: dict = {}

            def run_builder() -> None:
                result["built"] = builder.execute("select conductor.refresh_customer_context()").fetchone()[0]

            thread = threading.Thread(target=run_builder)
            thread.start()
            pid = builder.info.backend_pid
            deadline = time.monotonic() + 60
            while conn.execute(
                "select wait_event_type is distinct from 'Lock' from pg_stat_activity where pid = %s", (pid,)
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the builder never waited for the sale's lock"
                time.sleep(0.05)
            seller.commit()
            thread.join(60)
            assert not thread.is_alive()
            assert result["built"] == 1
        finally:
            seller.close()
            builder.close()

        row = state(shop, "C-3")
        assert not row["current"], "the build read before the sale committed must not be served"
        assert served(shop, "C-3")["recent_purchases"][0]["items"][0]["product_name"] == "In flight"
        build(shop)
        assert state(shop, "C-3")["current"]
        assert_ready_context_is_live(conn)


def test_rebuild_all_and_a_formula_revision_make_every_row_stale(db):
    with db.connect() as conn:
        shop = Shop(conn)
        for n in range(3):
            shop.customer(f"C-R{n}")
            shop.sale(f"C-R{n}", 3, 10, lines=[Line("SKU-X", 10)])
        assert build(shop) == 3
        conn.execute("select conductor.rebuild_all()")
        assert conn.execute(
            "select count(*) from conductor.customer_context where built_version = version"
        ).fetchone() == (0,)
        assert build(shop) == 3

        conn.execute("delete from conductor.derived_revisions where derived_table = 'customer_context'")
        assert conn.execute("select conductor.converge_derived_formulas()").fetchone()[0] == {
            "customer_context": "stale"
        }
        assert conn.execute(
            "select count(*) from conductor.customer_context where built_version = version"
        ).fetchone() == (0,)


def test_the_builder_takes_a_bounded_batch_and_refuses_a_bad_limit(db):
    with db.connect() as conn:
        shop = Shop(conn)
        for n in range(5):
            shop.customer(f"C-B{n}")
        assert conn.execute("select conductor.refresh_customer_context(2)").fetchone() == (2,)
        assert conn.execute("select conductor.refresh_customer_context(null)").fetchone() == (3,)
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="p_limit"):
            conn.execute("select conductor.refresh_customer_context(0)")


def insights(conn: psycopg.Connection, phone: str) -> dict:
    return conn.execute("select public.get_customer_insights(%s)", (phone,)).fetchone()[0]


def test_the_insights_call_serves_the_ready_answer_only_while_current_and_of_today(db):
    with db.connect() as conn:
        shop = Shop(conn)
        shop.customer("C-I", phone="+16195550111")
        shop.sale("C-I", 3, 25, lines=[Line("SKU-I", 25, name="Indica", category="Flower")])
        assert build(shop) == 1
        assert shop.row(
            "select insights_valid_until = (conductor.store_today() + 1)::timestamp "
            "at time zone conductor.store_time_zone() as next_midnight "
            "from conductor.customer_context where customer_id = 'C-I'"
        )["next_midnight"]
        ready = insights(conn, "+16195550111")
        assert ready["found"] and ready["member_id"] == "C-I" and ready["phone_number"] == "+16195550111"
        assert ready["recent_purchases"][0]["items"][0]["product_name"] == "Indica"

        with conn.transaction(force_rollback=True):
            # A marker in the stored answer shows the call returns it as stored ...
            conn.execute(
                "update conductor.customer_context set insights = (insights::jsonb || '{\"marker\": 1}')::json "
                "where customer_id = 'C-I'"
            )
            assert insights(conn, "+16195550111")["marker"] == 1
            # ... and only before the store's next midnight: past it, the call computes the answer.
            conn.execute(
                "update conductor.customer_context set insights_valid_until = now() - interval '1 second' "
                "where customer_id = 'C-I'"
            )
            assert insights(conn, "+16195550111") == ready

        conn.execute(
            "update conductor.customer_context set insights_valid_until = now() - interval '1 second' "
            "where customer_id = 'C-I'"
        )
        assert build(shop) == 1, "an answer of an earlier store date is built again"
        assert build(shop) == 0
        assert insights(conn, "+16195550111") == ready
        assert_ready_context_is_live(conn)


def test_each_write_the_answer_shows_makes_it_stale(db):
    """Writes outside the sale maintenance: opt-outs, reviews, leads, the customer row, a phone
    shared or moved, a threshold. Each leaves the affected answers stale (so the call computes
    them) and the call shows the change at once."""
    with db.connect() as conn:
        shop = Shop(conn)
        shared, other = "+16195550121", "+16195550122"
        shop.customer("C-A", phone=shared)
        shop.customer("C-B", phone=shared)
        shop.customer("C-C", phone=other)
        shop.sale("C-A", 2, 40, lines=[Line("SKU-W", 40)])
        shop.sale("C-B", 30, 15, lines=[Line("SKU-W", 15)])
        shop.sale("C-C", 5, 20, lines=[Line("SKU-W", 20)])

        def after(write: str, stale: set[str], check) -> None:
            build(shop)
            assert conn.execute(
                "select count(*) from conductor.customer_context where built_version <> version"
            ).fetchone() == (0,)
            conn.execute(write)
            now_stale = {
                r[0]
                for r in conn.execute(
                    "select customer_id from conductor.customer_context where built_version <> version"
                ).fetchall()
            }
            assert stale <= now_stale, f"{write}: {sorted(stale - now_stale)} still served as built"
            assert check(), write
            assert_ready_context_is_live(conn)

        after(
            f"insert into conductor.opt_outs (phone_number, keyword) values ('{shared}', 'STOP')",
            {"C-A", "C-B"},
            lambda: insights(conn, shared)["opted_out"] is True,
        )
        after(
            f"delete from conductor.opt_outs where phone_number = '{shared}'",
            {"C-A", "C-B"},
            lambda: insights(conn, shared)["opted_out"] is False,
        )
        after(
            f"insert into conductor.opt_out_reviews (phone_number, matched_phrase) values ('{shared}', 'leave me')",
            {"C-A", "C-B"},
            lambda: insights(conn, shared)["opt_out_review"]["matched_phrase"] == "leave me",
        )
        after(
            "update conductor.opt_out_reviews set resolved_at = now(), resolution = 'not_revocation'",
            {"C-A", "C-B"},
            lambda: insights(conn, shared)["opt_out_review"] is None,
        )
        after(
            f"insert into public.leads (phone_number, source) values ('{other}', 'sms')",
            {"C-C"},
            lambda: insights(conn, other)["open_lead"]["source"] == "sms",
        )
        after(
            "update public.leads set lead_status = 'hot'",
            {"C-C"},
            lambda: insights(conn, other)["open_lead"]["lead_status"] == "hot",
        )
        after(
            "delete from public.leads",
            {"C-C"},
            lambda: insights(conn, other)["open_lead"] is None,
        )
        after(
            "update public.customers set name = 'Renamed', loyalty_points = 77 where member_id = 'C-A'",
            {"C-A"},
            lambda: (
                (insights(conn, shared)["name"], insights(conn, shared)["loyalty_points"]) == ("Renamed", 77)
            ),
        )
        after(
            f"insert into public.customers (member_id, name, phone) values ('C-D', 'New', '{other}')",
            {"C-C"},
            lambda: insights(conn, other)["customers_sharing_phone"] == 2,
        )
        after(
            "delete from public.customers where member_id = 'C-D'",
            {"C-C"},
            lambda: insights(conn, other)["customers_sharing_phone"] == 1,
        )
        after(
            f"update public.customers set phone = '{other}' where member_id = 'C-B'",
            {"C-A", "C-B", "C-C"},
            lambda: (
                (
                    insights(conn, shared)["customers_sharing_phone"],
                    insights(conn, other)["customers_sharing_phone"],
                )
                == (1, 2)
            ),
        )
        after(
            "update conductor.vip_tiers set min_visits = 1 where min_visits = "
            "(select min(min_visits) from conductor.vip_tiers where min_visits > 0)",
            {"C-A", "C-B", "C-C"},
            lambda: (
                insights(conn, shared)["vip_status"]
                == shop.row("select vip_status from conductor.customer_scores where member_id = 'C-A'")[
                    "vip_status"
                ]
            ),
        )
