"""public.blaze_sync_page on hand-written Blaze pages (tests/blaze/fixtures, written from the
partner API's field names): the awkward cases, a transaction Blaze changes later, pages that
arrive twice or out of order, bad payloads, held transactions and the sync cursor."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.blaze import history

FIXTURES = Path(__file__).parent / "fixtures"
SALE, WALK_IN, REFUND, CANCELED = (f"64c0000000000000000000t{n}" for n in range(1, 5))
JOSE, DELETED = "5f0a1b2c3d4e5f6a7b8c9d01", "5f0a1b2c3d4e5f6a7b8c9d02"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def apply(database, entity: str, page, cursor=None) -> dict:
    return database.scalar(
        "select public.blaze_sync_page(%s, %s, %s)",
        (entity, Jsonb(page), Jsonb(cursor) if cursor is not None else None),
    )


def load_all(database) -> None:
    for entity, name in (("members", "members"), ("products", "products"), ("transactions", "transactions")):
        apply(database, entity, fixture(name))


def state(database) -> list:
    return [
        database.rows(f"select to_jsonb(t)::text from {table} as t order by 1")
        for table in (
            "public.customers",
            "public.transactions",
            "public.transaction_items",
            "public.products",
        )
    ]


def test_the_awkward_cases_arrive_as_the_csv_path_stores_them(shop_db):
    load_all(shop_db)
    assert shop_db.scalar("select count(*) from conductor.data_issues") == 0
    assert (
        shop_db.scalar("select name from public.customers where member_id = %s", (JOSE,)) == "José Ñúñez-Zoë"
    )
    # A deleted member stays: its history references it.
    assert shop_db.scalar("select name from public.customers where member_id = %s", (DELETED,)) == "李 小龍"
    assert (
        shop_db.scalar("select customer_id from public.transactions where transaction_id = %s", (WALK_IN,))
        is None
    )
    sale = shop_db.rows(
        "select total_amount, total_tax, discounts, shop_location, staff_name from public.transactions "
        "where transaction_id = %s",
        (SALE,),
    )[0]
    assert [str(v) for v in sale[:3]] == ["92.06", "17.06", "5.00"]
    assert sale[3:] == (history.SHOP_NAME, "Evelyn R.")
    lines = shop_db.rows(
        "select line_number, product_sku, total_price::text from public.transaction_items "
        "where transaction_id = %s order by line_number",
        (SALE,),
    )
    # The same product twice is two lines; 9.999 is rounded to cents.
    assert lines == [(1, "FLW-9001", "35.00"), (2, "FLW-9001", "30.00"), (3, "EDI-9002", "10.00")]
    refund = shop_db.rows(
        "select transaction_type, refunded_transaction_id, total_amount::text from public.transactions "
        "where transaction_id = %s",
        (REFUND,),
    )[0]
    assert refund == ("refund", SALE, "-12.27")
    assert (
        shop_db.scalar("select status from public.transactions where transaction_id = %s", (CANCELED,))
        == "voided"
    )
    assert shop_db.scalar("select total_refunds from public.customers where member_id = %s", (JOSE,)) == 1


def test_the_same_pages_again_change_nothing(shop_db):
    load_all(shop_db)
    before = state(shop_db)
    load_all(shop_db)
    assert state(shop_db) == before


def test_a_transaction_changed_later_updates_the_row_and_its_derived_data(shop_db):
    load_all(shop_db)
    assert shop_db.scalar("select total_sales from public.customers where member_id = %s", (JOSE,)) == 1
    page = fixture("transactions")
    sale = copy.deepcopy(page["values"][0])
    older = copy.deepcopy(sale)
    sale["modified"] += 60_000
    sale["status"] = "Void"
    sale["cart"]["items"] = sale["cart"]["items"][:1]
    result = apply(shop_db, "transactions", {"values": [sale]})
    assert result["applied"] == 1
    assert (
        shop_db.scalar("select status from public.transactions where transaction_id = %s", (SALE,))
        == "voided"
    )
    assert (
        shop_db.scalar("select count(*) from public.transaction_items where transaction_id = %s", (SALE,))
        == 1
    )
    assert shop_db.scalar("select total_sales from public.customers where member_id = %s", (JOSE,)) == 0
    # The older copy arriving late is skipped.
    assert apply(shop_db, "transactions", {"values": [older]})["stale"] == 1
    assert (
        shop_db.scalar("select status from public.transactions where transaction_id = %s", (SALE,))
        == "voided"
    )


def test_a_transaction_before_its_member_and_product_waits_for_them(shop_db):
    result = apply(shop_db, "transactions", fixture("transactions"))
    assert result["held"] == 4 and shop_db.scalar("select count(*) from public.transactions") == 0
    apply(shop_db, "members", fixture("members"))
    assert shop_db.scalar("select count(*) from public.transactions") == 0  # products still missing
    apply(shop_db, "products", fixture("products"))
    assert shop_db.scalar("select count(*) from public.transactions") == 4
    assert (
        shop_db.scalar(
            "select refunded_transaction_id from public.transactions where transaction_id = %s", (REFUND,)
        )
        == SALE
    )
    assert shop_db.scalar("select count(*) from conductor.blaze_pending_transactions") == 0


def test_a_transaction_whose_member_never_comes_is_a_data_issue_after_the_grace_period(shop_db):
    apply(shop_db, "products", fixture("products"))
    page = {"values": [fixture("transactions")["values"][1]]}
    page["values"][0]["memberId"] = "no-such-member"
    assert apply(shop_db, "transactions", page)["held"] == 1
    shop_db.execute(
        "update conductor.blaze_pending_transactions set first_seen_at = now() - interval '25 hours'"
    )
    assert apply(shop_db, "transactions", {"values": []})["released"] == 1
    assert shop_db.rows(
        "select field, action, bad_value from conductor.data_issues where entity = 'transactions'"
    ) == [("customer_id", "rejected", "no-such-member")]
    assert shop_db.scalar("select count(*) from conductor.blaze_pending_transactions") == 0


def bad_rows(database, field: str) -> list:
    return database.rows(
        "select business_key, action from conductor.data_issues "
        "where entity = 'transactions' and field = %s order by 1",
        (field,),
    )


def test_bad_values_in_a_record_are_data_issues_naming_the_field(shop_db):
    apply(shop_db, "members", fixture("members"))
    apply(shop_db, "products", fixture("products"))
    records = fixture("transactions")["values"]
    no_id, strange, as_text = copy.deepcopy(records[1]), copy.deepcopy(records[1]), copy.deepcopy(records[1])
    del no_id["id"]
    strange["id"], strange["status"] = "tx-strange", "Teleported"
    as_text["id"], as_text["cart"]["total"] = "tx-text", "42.96"
    apply(shop_db, "transactions", {"values": [no_id, strange, as_text]})
    assert bad_rows(shop_db, "transaction_id") == [(None, "rejected")]
    assert bad_rows(shop_db, "status") == [("tx-strange", "rejected")]
    assert bad_rows(shop_db, "total_amount") == [("tx-text", "rejected")]
    assert (
        shop_db.scalar("select bad_value from conductor.data_issues where field = 'total_amount'")
        == '"42.96"'
    )


@pytest.mark.parametrize(
    ("entity", "page", "phrase"),
    [
        ("sales", {"values": []}, "entity is not valid:"),
        ("transactions", None, "blaze_page is required:"),
        ("transactions", "<html>502 Bad Gateway</html>", "blaze_page is not a Blaze page:"),
        ("transactions", {"error": "Unauthorized"}, "blaze_page is not a Blaze page:"),
        ("transactions", {"values": [1, 2]}, "blaze_page is not a Blaze page:"),
        ("transactions", {"values": [{"id": str(n)} for n in range(10_000)]}, "blaze_page is too large:"),
    ],
)
def test_a_malformed_page_is_refused_whole(shop_db, entity, page, phrase):
    with pytest.raises(psycopg.Error) as raised:
        apply(shop_db, entity, page) if page is not None else shop_db.scalar(
            "select public.blaze_sync_page(%s, null)", (entity,)
        )
    assert raised.value.sqlstate == "22023"
    assert raised.value.diag.message_primary.startswith(phrase)


def test_another_shops_record_refuses_the_whole_page(shop_db):
    load_all(shop_db)
    before = state(shop_db)
    page = fixture("transactions")
    page["values"][0]["cart"]["total"] = 1.0
    page["values"][2]["shopId"] = "another-shop"
    with pytest.raises(psycopg.Error) as raised:
        apply(shop_db, "transactions", page)
    assert raised.value.sqlstate == "22023"
    assert raised.value.diag.message_primary.startswith("blaze_page is from another shop:")
    assert state(shop_db) == before


def test_a_page_is_refused_until_the_shop_is_configured(db):
    with pytest.raises(psycopg.Error) as raised:
        apply(db, "members", fixture("members"))
    assert raised.value.diag.message_primary.startswith("invalid setting: blaze_shop_id")


def test_the_cursor_walks_seven_day_windows_page_by_page(shop_db):
    first = shop_db.scalar("select public.blaze_sync_next('transactions', current_date - 30)")
    query = first["query"]
    assert (query["skip"], query["limit"]) == (0, 100)
    days = shop_db.scalar(
        "select to_date(%s, 'MM/DD/YYYY') - to_date(%s, 'MM/DD/YYYY')", (query["endDate"], query["startDate"])
    )
    assert days == 6
    full = {"values": [{"id": f"open-{n}", "status": "Queued", "modified": 1} for n in range(100)]}
    assert apply(shop_db, "transactions", full, first["sync_cursor"])["cursor_advanced"] is True
    second = shop_db.scalar("select public.blaze_sync_next('transactions')")
    assert second["query"]["skip"] == 100 and second["query"]["startDate"] == query["startDate"]
    # The same page again does not move the cursor.
    assert apply(shop_db, "transactions", full, first["sync_cursor"])["cursor_advanced"] is False
    apply(shop_db, "transactions", {"values": []}, second["sync_cursor"])
    third = shop_db.scalar("select public.blaze_sync_next('transactions')")
    assert third["query"]["skip"] == 0 and third["query"]["startDate"] == query["endDate"]
    members = shop_db.scalar("select public.blaze_sync_next('members')")
    assert members["query"]["endDate"] - members["query"]["startDate"] <= 7 * 86_400_000


def test_fields_blaze_does_not_carry_keep_their_stored_values(shop_db):
    load_all(shop_db)
    shop_db.execute(
        "update public.products set cost = 12.27, leafly_rating = 4.2, effects = '{Relaxed,Happy}', "
        "leafly_data_updated = '2026-10-13 03:00:00+00' where sku = 'FLW-9001'"
    )
    shop_db.execute("update public.customers set time_zone = 'America/Phoenix' where member_id = %s", (JOSE,))
    products, members = fixture("products"), fixture("members")
    for record in products["values"] + members["values"]:
        record["modified"] += 1000
    products["values"][0]["unitPrice"] = 36.0
    apply(shop_db, "products", products)
    apply(shop_db, "members", members)
    assert shop_db.rows(
        "select retail_price::text, cost::text, leafly_rating::text, effects, leafly_data_updated::text "
        "from public.products where sku = 'FLW-9001'"
    ) == [("36.00", "12.27", "4.20", ["Relaxed", "Happy"], "2026-10-13 03:00:00+00")]
    assert (
        shop_db.scalar("select time_zone from public.customers where member_id = %s", (JOSE,))
        == "America/Phoenix"
    )
    assert shop_db.scalar("select count(*) from conductor.data_issues") == 0


def test_a_sale_whose_product_never_comes_keeps_its_known_lines_after_the_grace_period(shop_db):
    apply(shop_db, "members", fixture("members"))
    products = fixture("products")
    products["values"] = products["values"][:1]  # the gummies never arrive
    apply(shop_db, "products", products)
    page = {"values": [fixture("transactions")["values"][0]]}
    assert apply(shop_db, "transactions", page)["held"] == 1
    missing = shop_db.scalar("select missing from conductor.blaze_pending_transactions")
    assert missing == "product 61b2000000000000000000a2"
    shop_db.execute(
        "update conductor.blaze_pending_transactions set first_seen_at = now() - interval '25 hours'"
    )
    apply(shop_db, "members", {"values": []})
    assert (
        shop_db.scalar("select count(*) from public.transaction_items where transaction_id = %s", (SALE,))
        == 2
    )
    assert shop_db.rows(
        "select business_key, field, bad_value from conductor.data_issues where entity = 'transaction_items'"
    ) == [(f"{SALE} #3", "product_sku", "61b2000000000000000000a2")]


def test_a_webhook_record_alone_and_an_open_cart_are_applied_or_left_for_later(shop_db):
    load_all(shop_db)
    record = copy.deepcopy(fixture("transactions")["values"][1])
    record["id"], record["status"], record["modified"] = "64c00000000000000000t100", "InProgress", 1
    result = apply(shop_db, "transactions", [record])
    assert (result["open"], result["applied"]) == (1, 1)
    assert (
        shop_db.scalar("select count(*) from public.transactions where transaction_id = %s", (record["id"],))
        == 0
    )
    record["status"], record["modified"] = "Completed", 2
    apply(shop_db, "transactions", [record])
    assert shop_db.scalar(
        "select status from public.transactions where transaction_id = %s", (record["id"],)
    ) == ("completed")


def test_the_member_cursor_reaches_now_and_stays_caught_up(shop_db):
    start = shop_db.scalar("select public.blaze_sync_next('members', current_date - 10)")
    assert start["caught_up"] is False
    cursor = start
    for _ in range(5):
        result = apply(shop_db, "members", {"values": []}, cursor["sync_cursor"])
        assert result["cursor_advanced"] is True
        cursor = shop_db.scalar("select public.blaze_sync_next('members')")
        if result["caught_up"]:
            break
    assert cursor["caught_up"] is True
    window = cursor["query"]
    now_ms = shop_db.scalar("select (extract(epoch from now()) * 1000)::bigint")
    assert window["startDate"] < now_ms and window["endDate"] <= now_ms + 1000
    assert now_ms - window["startDate"] <= 11 * 60 * 1000 + 60_000
