"""Implausible dates: infinity, the server's special words (epoch, now, today, yesterday, ...), year 1,
BC dates and far-future years. The import records each as a data issue and imports every good row;
a direct write is refused by the column's named *_plausible check constraint. Both use the same
bounds: from 2000-01-01 (UTC for timestamps) to 24 hours ahead (dates: tomorrow; hire dates: a year
ahead)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from .conftest import import_entity, issues, stage_rows

NOT_A_TIMESTAMP = "date is not a timestamp"
BAD_TRANSACTION_DATES = {
    "-infinity": NOT_A_TIMESTAMP,
    "infinity": NOT_A_TIMESTAMP,
    "epoch": NOT_A_TIMESTAMP,
    "now": NOT_A_TIMESTAMP,
    "today": NOT_A_TIMESTAMP,
    "yesterday": NOT_A_TIMESTAMP,
    "tomorrow": NOT_A_TIMESTAMP,
    "2025-01-01 allballs": NOT_A_TIMESTAMP,
    "0001-01-01": "date is before 2000-01-01",
    "4713-01-01 BC": "date is before 2000-01-01",
    "1999-12-31 12:00:00+00": "date is before 2000-01-01",
    "294276-01-01": "date is in the future",
    "2999-01-01 12:00:00": "date is in the future",
}


def test_one_minus_infinity_transaction_is_recorded_and_everything_else_imports(conn) -> None:
    stage_rows(conn, "products", "pos", [{"product_id": "P1", "sku": "S1", "name": "Pre-Roll"}])
    stage_rows(
        conn,
        "customers",
        "pos",
        [{"member_id": "M1", "name": "Ann Lee"}, {"member_id": "M2", "name": "Bo Diaz"}],
    )
    stage_rows(
        conn,
        "transactions",
        "pos",
        [
            {
                "transaction_id": "T1",
                "customer_id": "M1",
                "date": "2025-03-01 14:00:00",
                "total_amount": "20",
            },
            {"transaction_id": "T2", "customer_id": "M1", "date": "-infinity", "total_amount": "10"},
            {
                "transaction_id": "T3",
                "customer_id": "M2",
                "date": "2025-03-02 15:00:00",
                "total_amount": "30",
            },
        ],
    )
    stage_rows(
        conn,
        "transaction_items",
        "pos",
        [
            {
                "transaction_id": "T1",
                "line_number": "1",
                "product_sku": "S1",
                "quantity": "1",
                "unit_price": "20",
            },
            {
                "transaction_id": "T3",
                "line_number": "1",
                "product_sku": "S1",
                "quantity": "1",
                "unit_price": "30",
            },
        ],
    )

    result = conn.execute("select conductor.import_all('pos')").fetchone()[0]

    assert result["products"]["inserted"] == 1
    assert result["customers"]["inserted"] == 2
    assert (result["transactions"]["inserted"], result["transactions"]["rejected"]) == (2, 1)
    assert result["transaction_items"]["inserted"] == 2
    assert issues(conn, result["transactions"]["batch_id"]) == {
        2: ("date", "rejected", NOT_A_TIMESTAMP, "-infinity")
    }
    stored = conn.execute("select transaction_id from public.transactions order by 1").fetchall()
    assert stored == [("T1",), ("T3",)]
    # The good sales were maintained as usual.
    visits = dict(conn.execute("select member_id, total_visits from public.customers").fetchall())
    assert visits == {"M1": 1, "M2": 1}


def test_every_implausible_transaction_date_is_rejected_naming_the_field(conn) -> None:
    rows = [
        {"transaction_id": f"T{n}", "date": value, "total_amount": "5"}
        for n, value in enumerate(BAD_TRANSACTION_DATES, start=1)
    ]
    rows.append({"transaction_id": "GOOD-1", "date": "2000-01-01 00:00:00+00", "total_amount": "5"})
    rows.append({"transaction_id": "GOOD-2", "date": "2025-06-30 18:00:00", "total_amount": "5"})
    stage_rows(conn, "transactions", "dates", rows)

    result = import_entity(conn, "transactions", "dates")

    assert (result["inserted"], result["rejected"]) == (2, len(BAD_TRANSACTION_DATES))
    recorded = issues(conn, result["batch_id"])
    for n, (value, problem) in enumerate(BAD_TRANSACTION_DATES.items(), start=1):
        assert recorded[n] == ("date", "rejected", problem, value), value
    stored = conn.execute("select transaction_id from public.transactions order by 1").fetchall()
    assert stored == [("GOOD-1",), ("GOOD-2",)]


@pytest.mark.parametrize(
    ("entity", "key", "row", "field", "column", "table_key"),
    [
        ("customers", "M9", {"member_id": "M9", "name": "Cy"}, "registered_on", "registered_on", "member_id"),
        (
            "staff",
            "Sam @ Downtown",
            {"staff_name": "Sam", "shop_location": "Downtown"},
            "hire_date",
            "hire_date",
            "staff_name || ' @ ' || shop_location",
        ),
        (
            "products",
            "P9",
            {"product_id": "P9", "sku": "S9", "name": "Gummies"},
            "leafly_data_updated",
            "leafly_data_updated",
            "product_id",
        ),
    ],
    ids=["customers.registered_on", "staff.hire_date", "products.leafly_data_updated"],
)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-infinity", "is not a"),
        ("epoch", "is not a"),
        ("yesterday", "is not a"),
        ("0001-01-01", "is before 2000-01-01"),
        ("4713-01-01 BC", "is before 2000-01-01"),
        ("294276-01-01", "is "),
    ],
)
def test_an_implausible_optional_date_is_cleared_and_recorded_and_the_row_imported(
    conn, entity, key, row, field, column, table_key, value, problem
) -> None:
    stage_rows(conn, entity, "opt", [{**row, field: value}])
    result = import_entity(conn, entity, "opt")
    assert (result["inserted"], result["rejected"], result["fields_cleared"]) == (1, 0, 1)
    field_name, action, text, bad_value = issues(conn, result["batch_id"])[1]
    assert (field_name, action, bad_value) == (field, "field_cleared", value)
    assert text.startswith(f"{field} {problem}"), text
    stored = conn.execute(f"select {table_key}, {column} from public.{entity}").fetchall()
    assert stored == [(key, None)]


def test_a_future_hire_within_a_year_is_kept(conn) -> None:
    stage_rows(
        conn,
        "staff",
        "hire",
        [
            {"staff_name": "Sam", "shop_location": "Downtown", "hire_date": "2000-01-01"},
            {"staff_name": "Lee", "shop_location": "Downtown"},
        ],
    )
    conn.execute(
        "update conductor.staging_staff set hire_date = (current_date + 300)::text "
        "where source = 'hire' and staff_name = 'Lee'"
    )
    result = import_entity(conn, "staff", "hire")
    assert (result["inserted"], result["fields_cleared"]) == (2, 0)


# Direct writes: the named check constraint refuses the row.


@pytest.fixture
def direct(db):
    with db.connect() as connection:
        connection.execute("insert into public.customers (member_id, name) values ('M1', 'Ann Lee')")
        yield connection


def refused(conn: psycopg.Connection, sql: str, params: tuple) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, params)
    return caught.value


@pytest.mark.parametrize(
    "value",
    ["infinity", "-infinity", "294276-01-01", "0001-01-01", "4713-01-01 BC", "1999-12-31 23:59:59+00"],
)
@pytest.mark.parametrize("customer", ["M1", None], ids=["member", "walk-in"])
def test_a_direct_transaction_with_an_implausible_date_is_refused_naming_the_column(
    direct, value: str, customer: str | None
) -> None:
    error = refused(
        direct,
        "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
        "values ('T9', %s, %s, 5)",
        (customer, value),
    )
    assert isinstance(error, errors.CheckViolation)  # 23514, not 22008 from the maintenance
    assert error.diag.constraint_name == "transactions_date_plausible"
    assert "transactions_date_plausible" in str(error)
    assert direct.execute("select count(*) from public.transactions").fetchone()[0] == 0


def test_a_direct_update_to_an_implausible_date_is_refused(direct) -> None:
    direct.execute(
        "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
        "values ('T1', 'M1', now() - interval '1 day', 5)"
    )
    error = refused(
        direct, "update public.transactions set date = %s where transaction_id = 'T1'", ("infinity",)
    )
    assert error.diag.constraint_name == "transactions_date_plausible"


def test_plausible_direct_dates_at_the_bounds_are_accepted(direct) -> None:
    direct.execute(
        "insert into public.transactions (transaction_id, customer_id, date, total_amount) values "
        "('T1', 'M1', '2000-01-01 00:00:00+00', 5), ('T2', 'M1', now() + interval '23 hours', 5)"
    )
    direct.execute("update public.customers set registered_on = current_date + 1 where member_id = 'M1'")
    direct.execute("insert into public.staff (staff_name, hire_date) values ('Sam', current_date + 366)")
    direct.execute(
        "insert into public.products (product_id, name, leafly_data_updated) values ('P1', 'x', now())"
    )
    assert direct.execute("select count(*) from public.transactions").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "update public.customers set registered_on = %s where member_id = 'M1'",
            "customers_registered_on_plausible",
        ),
        ("insert into public.staff (staff_name, hire_date) values ('Sam', %s)", "staff_hire_date_plausible"),
        (
            "insert into public.products (product_id, name, leafly_data_updated) values ('P1', 'x', %s)",
            "products_leafly_data_updated_plausible",
        ),
    ],
    ids=["customers.registered_on", "staff.hire_date", "products.leafly_data_updated"],
)
@pytest.mark.parametrize("value", ["-infinity", "infinity", "0001-01-01", "294276-01-01"])
def test_other_implausible_direct_dates_are_refused_naming_the_column(direct, sql, constraint, value) -> None:
    error = refused(direct, sql, (value,))
    assert isinstance(error, errors.CheckViolation)
    assert error.diag.constraint_name == constraint
    assert constraint in str(error)
