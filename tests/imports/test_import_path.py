"""The import path: staged text rows -> validated, cast and upserted by business key, with every
rejected row and every cleared field recorded in conductor.data_issues, and the staging rows
consumed. Re-importing the same rows changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest

from conductor_dev import seed

from .conftest import import_entity, issues, stage_rows

MAIN = ["products", "customers", "staff", "transactions", "transaction_items"]


def test_reimporting_the_demo_data_changes_nothing(seeded_db, demo_dataset) -> None:
    with seeded_db.connect() as conn:
        before = {
            table: conn.execute(f"select count(*), max(updated_at) from public.{table}").fetchone()
            for table in MAIN
        }
        seed.stage(conn, demo_dataset)
        result = conn.execute("select conductor.import_all(%s)", (demo_dataset.source,)).fetchone()[0]
        after = {
            table: conn.execute(f"select count(*), max(updated_at) from public.{table}").fetchone()
            for table in MAIN
        }
    for entity in MAIN:
        counts = result[entity]
        assert counts["read"] == len(demo_dataset.rows[entity]), entity
        assert counts["inserted"] == 0 and counts["updated"] == 0, (entity, counts)
        assert counts["unchanged"] == counts["read"] - counts["rejected"], (entity, counts)
    assert after == before, "a re-import touched rows (count or updated_at changed)"


def test_the_demo_import_rejects_exactly_the_planted_bad_rows(seeded_db, demo_dataset) -> None:
    recorded = Counter(
        tuple(r)
        for r in seeded_db.rows(
            "select i.entity, i.business_key, i.field, i.action from conductor.data_issues as i "
            "join conductor.import_batches as b on b.id = i.import_batch_id where b.source = %s",
            (demo_dataset.source,),
        )
    )
    expected = Counter((e.entity, e.business_key, e.field, e.action) for e in demo_dataset.expected_issues)
    assert recorded == expected
    batches = seeded_db.rows(
        "select entity, rows_read, rows_inserted + rows_updated + rows_unchanged, rows_rejected, "
        "fields_cleared from conductor.import_batches where source = %s order by id",
        (demo_dataset.source,),
    )
    assert [b[0] for b in batches] == MAIN
    for entity, read, stored, rejected, cleared in batches:
        assert read == stored + rejected, entity
        assert rejected == expected_count(demo_dataset, entity, "rejected"), entity
        assert cleared == expected_count(demo_dataset, entity, "field_cleared"), entity


def expected_count(dataset: seed.Dataset, entity: str, action: str) -> int:
    return sum(1 for e in dataset.expected_issues if e.entity == entity and e.action == action)


def test_a_bad_phone_is_cleared_and_recorded_and_the_customer_still_imported(conn) -> None:
    stage_rows(
        conn,
        "customers",
        "file-1",
        [
            {"member_id": "M1", "name": "Ann Lee", "phone": "(619) 977-3020"},
            {"member_id": "M2", "name": "Bo Diaz", "phone": "555-1234"},
            {"member_id": "M3", "name": "Cy Ruiz", "phone": "call me"},
        ],
    )
    result = import_entity(conn, "customers", "file-1")
    assert (result["inserted"], result["rejected"], result["fields_cleared"]) == (3, 0, 2)
    phones = dict(conn.execute("select member_id, phone from public.customers").fetchall())
    assert phones == {"M1": "+16199773020", "M2": None, "M3": None}
    found = issues(conn, result["batch_id"])
    assert found[2][:2] == ("phone", "field_cleared") and found[2][3] == "555-1234"
    assert found[3][:2] == ("phone", "field_cleared") and found[3][3] == "call me"
    assert "E.164" in found[2][2]

    # A later export with a bad phone does not wipe the number already stored.
    stage_rows(conn, "customers", "file-2", [{"member_id": "M1", "name": "Ann Lee", "phone": "n/a"}])
    result = import_entity(conn, "customers", "file-2")
    assert (result["unchanged"], result["fields_cleared"]) == (1, 1)
    assert (
        conn.execute("select phone from public.customers where member_id = 'M1'").fetchone()[0]
        == "+16199773020"
    )


def test_rejected_rows_are_recorded_with_a_reason_naming_the_field(conn) -> None:
    stage_rows(
        conn,
        "products",
        "f",
        [
            {"product_id": "P4", "sku": "S1", "name": "Same sku as a later row"},
            {"product_id": "P1", "sku": "S1", "name": "Blue Dream 3.5g", "retail_price": "$1,035.00"},
            {"product_id": "P2", "sku": "S2", "name": "Gummies", "retail_price": "N/A"},
            {"product_id": "", "sku": "S3", "name": "No id"},
        ],
    )
    stage_rows(
        conn,
        "customers",
        "f",
        [
            {"member_id": "M1", "name": "First copy"},
            {"member_id": "", "name": "No id"},
            {"member_id": "M1", "name": "Second copy", "registered_on": "2024-02-30"},
        ],
    )
    stage_rows(
        conn,
        "transactions",
        "f",
        [
            {
                "transaction_id": "T1",
                "customer_id": "M1",
                "date": "2025-03-01 14:00:00",
                "total_amount": "50.00",
            },
            {"transaction_id": "T2", "customer_id": "M9", "date": "2025-03-01 15:00:00", "total_amount": "5"},
            {"transaction_id": "T3", "date": "2025-02-30 12:00:00", "total_amount": "5"},
            {"transaction_id": "T4", "date": "2025-03-01 12:00:00", "total_amount": "12..50"},
            {"transaction_id": "T5", "date": "2999-01-01 12:00:00", "total_amount": "5"},
            {"transaction_id": "", "date": "2025-03-01 12:00:00", "total_amount": "5"},
            {
                "transaction_id": "T7",
                "date": "2025-03-02 12:00:00",
                "total_amount": "20",
                "transaction_type": "refund",
            },
            {
                "transaction_id": "T8",
                "customer_id": "M1",
                "date": "2025-03-02 12:00:00",
                "total_amount": "-20",
                "refunded_transaction_id": "T-NOT-THERE",
            },
            {"transaction_id": "T9", "date": "2025-03-03 12:00:00", "total_amount": "5", "status": "pending"},
            {"transaction_id": "T10", "date": "2025-03-03 12:00:00", "total_amount": "7"},
            {"transaction_id": "T10", "date": "2025-03-03 12:05:00", "total_amount": "8"},
        ],
    )
    stage_rows(
        conn,
        "transaction_items",
        "f",
        [
            {
                "transaction_id": "T1",
                "line_number": "1",
                "product_sku": "S1",
                "quantity": "1",
                "unit_price": "35",
            },
            {
                "transaction_id": "T1",
                "line_number": "2",
                "product_sku": "S2",
                "quantity": "-1",
                "unit_price": "10",
            },
            {
                "transaction_id": "T1",
                "line_number": "3",
                "product_sku": "S9",
                "quantity": "1",
                "unit_price": "10",
            },
            {
                "transaction_id": "T2",
                "line_number": "1",
                "product_sku": "S1",
                "quantity": "1",
                "unit_price": "5",
            },
            {
                "transaction_id": "T1",
                "line_number": "4",
                "product_sku": "S1",
                "quantity": "1.5",
                "unit_price": "5",
            },
            {
                "transaction_id": "T1",
                "line_number": "5",
                "product_sku": "S1",
                "quantity": "1",
                "unit_price": "-5",
            },
            {
                "transaction_id": "T1",
                "line_number": "1",
                "product_sku": "S1",
                "quantity": "1",
                "unit_price": "35",
            },
            {
                "transaction_id": "T1",
                "line_number": "x",
                "product_sku": "S1",
                "quantity": "1",
                "unit_price": "1",
            },
        ],
    )
    result = conn.execute("select conductor.import_all('f')").fetchone()[0]

    products = issues(conn, result["products"]["batch_id"])
    assert products[1][:2] == ("sku", "rejected") and "row 2" in products[1][2]
    assert products[3][:4] == ("retail_price", "field_cleared", "retail_price is not an amount >= 0", "N/A")
    assert products[4][:3] == ("product_id", "rejected", "product_id is missing (it is the business key)")
    assert result["products"]["inserted"] == 2 and result["products"]["rejected"] == 2
    assert conn.execute("select retail_price from public.products where product_id = 'P1'").fetchone() == (
        1035,
    )
    assert conn.execute(
        "select is_active, retail_price from public.products where product_id = 'P2'"
    ).fetchone() == (
        True,
        None,
    )

    customers = issues(conn, result["customers"]["batch_id"])
    assert customers[1][:2] == ("member_id", "rejected") and "row 3" in customers[1][2]
    assert customers[2][:2] == ("member_id", "rejected")
    assert customers[3][:2] == ("registered_on", "field_cleared")
    assert (
        conn.execute("select name from public.customers where member_id = 'M1'").fetchone()[0]
        == "Second copy"
    )

    tx = issues(conn, result["transactions"]["batch_id"])
    assert tx[2][:4] == ("customer_id", "rejected", "customer_id is not a known customer", "M9")
    assert tx[3][:4] == ("date", "rejected", "date is not a timestamp", "2025-02-30 12:00:00")
    assert tx[4][:4] == ("total_amount", "rejected", "total_amount is not an amount", "12..50")
    assert tx[5][:3] == ("date", "rejected", "date is in the future")
    assert tx[6][:2] == ("transaction_id", "rejected")
    assert tx[7][:3] == ("total_amount", "rejected", "total_amount of a refund is positive")
    assert tx[8][:2] == ("refunded_transaction_id", "field_cleared")
    assert tx[9][:4] == ("status", "rejected", "status is not completed or voided", "pending")
    assert tx[10][:2] == ("transaction_id", "rejected") and "row 11" in tx[10][2]
    assert result["transactions"]["inserted"] == 3  # T1, T8 (without its link), T10 (row 11)
    assert conn.execute(
        "select transaction_type, refunded_transaction_id, total_amount from public.transactions "
        "where transaction_id = 'T8'"
    ).fetchone() == ("refund", None, -20)
    assert conn.execute(
        "select total_amount from public.transactions where transaction_id = 'T10'"
    ).fetchone() == (8,)

    items = issues(conn, result["transaction_items"]["batch_id"])
    assert items[1][:2] == ("line_number", "rejected") and "row 7" in items[1][2]
    assert items[2][:4] == ("quantity", "rejected", "quantity is negative", "-1")
    assert items[3][:4] == ("product_sku", "rejected", "product_sku is not a known product", "S9")
    assert items[4][:4] == ("transaction_id", "rejected", "transaction_id is not a known transaction", "T2")
    assert items[5][:3] == ("quantity", "rejected", "quantity is not a whole number")
    assert items[6][:3] == ("unit_price", "rejected", "unit_price is negative")
    assert items[8][:4] == ("line_number", "rejected", "line_number is not a number", "x")
    assert result["transaction_items"]["inserted"] == 1
    line = conn.execute(
        "select product_name, total_price from public.transaction_items where transaction_id = 'T1'"
    ).fetchone()
    assert line == ("Blue Dream 3.5g", 35)  # name from the catalogue, total computed

    assert result["staff"]["batch_id"] is None  # nothing staged, no batch
    for entity in MAIN:
        assert (
            conn.execute(f"select count(*) from conductor.staging_{entity} where source = 'f'").fetchone()[0]
            == 0
        )
        if entity == "staff":
            continue
        batch = conn.execute(
            "select rows_read, rows_inserted + rows_updated + rows_unchanged + rows_rejected, rows_rejected "
            "from conductor.import_batches where id = %s",
            (result[entity]["batch_id"],),
        ).fetchone()
        assert batch[0] == batch[1], entity
        assert batch[2] == sum(
            1 for i in issues(conn, result[entity]["batch_id"]).values() if i[1] == "rejected"
        )


def test_an_import_consumes_only_its_own_source(conn) -> None:
    stage_rows(conn, "staff", "a", [{"staff_name": "Jo B.", "shop_location": "Downtown", "is_active": "yes"}])
    stage_rows(
        conn, "staff", "b", [{"staff_name": "Al C.", "shop_location": "Downtown", "hire_date": "03/04/2024"}]
    )
    result = conn.execute("select conductor.import_all('a')").fetchone()[0]
    assert result["staff"]["inserted"] == 1
    assert result["customers"] == {
        "entity": "customers",
        "source": "a",
        "batch_id": None,
        "read": 0,
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "fields_cleared": 0,
    }
    assert conn.execute("select source from conductor.staging_staff").fetchall() == [("b",)]
    import_entity(conn, "staff", "b")
    hired = conn.execute("select hire_date from public.staff where staff_name = 'Al C.'").fetchone()[0]
    assert hired.isoformat() == "2024-03-04"  # US month/day order


def test_an_update_in_a_later_export_changes_only_that_row(conn) -> None:
    rows = [
        {"product_id": "P1", "sku": "S1", "name": "One", "retail_price": "10"},
        {"product_id": "P2", "sku": "S2", "name": "Two", "retail_price": "20"},
    ]
    stage_rows(conn, "products", "x", rows)
    import_entity(conn, "products", "x")
    stamps = dict(conn.execute("select product_id, updated_at from public.products").fetchall())
    rows[1]["retail_price"] = "22.50"
    stage_rows(conn, "products", "x", rows)
    result = import_entity(conn, "products", "x")
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 1)
    after = dict(conn.execute("select product_id, updated_at from public.products").fetchall())
    assert after["P1"] == stamps["P1"] and after["P2"] > stamps["P2"]


def test_times_without_a_zone_are_store_local_and_explicit_offsets_are_kept(conn) -> None:
    stage_rows(
        conn,
        "transactions",
        "tz",
        [
            {"transaction_id": "T1", "date": "2025-07-04 16:00:00", "total_amount": "1"},
            {"transaction_id": "T2", "date": "2025-07-04T16:00:00Z", "total_amount": "1"},
            {"transaction_id": "T3", "date": "07/30/2025 4:00 PM", "total_amount": "1"},
        ],
    )
    with conn.transaction():
        import_entity(conn, "transactions", "tz")
        assert conn.execute("show timezone").fetchone()[0] == "UTC", "the import leaked its time zone"
    dates = dict(conn.execute("select transaction_id, date from public.transactions").fetchall())
    assert dates["T1"] == datetime(2025, 7, 4, 23, 0, tzinfo=UTC)  # 16:00 PDT
    assert dates["T2"] == datetime(2025, 7, 4, 16, 0, tzinfo=UTC)
    assert dates["T3"] == datetime(2025, 7, 30, 23, 0, tzinfo=UTC)


def test_lines_without_line_numbers_are_numbered_in_file_order(conn) -> None:
    stage_rows(
        conn, "transactions", "n", [{"transaction_id": "T1", "date": "2025-03-01 10:00", "total_amount": "3"}]
    )
    stage_rows(
        conn,
        "transaction_items",
        "n",
        [
            {"transaction_id": "T1", "product_name": "A", "quantity": "1", "unit_price": "1"},
            {
                "transaction_id": "T1",
                "product_name": "B",
                "quantity": "2",
                "unit_price": "1",
                "discount": "1",
            },
        ],
    )
    conn.execute("select conductor.import_all('n')")
    lines = conn.execute(
        "select line_number, product_name, total_price from public.transaction_items order by line_number"
    ).fetchall()
    assert lines == [(1, "A", 1), (2, "B", 1)]


def test_an_import_without_a_source_label_is_refused(conn) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="p_source"):
        conn.execute("select conductor.import_all(null)")
