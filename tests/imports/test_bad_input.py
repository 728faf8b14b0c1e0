"""Bad input written straight into the tables (not through the import) is refused with a clear
error: the SQLSTATE says what kind of problem it is and the message names the field or the
constraint."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors


@pytest.fixture
def conn(db):
    with db.connect() as connection:
        connection.execute("insert into public.customers (member_id, name) values ('M1', 'Ann Lee')")
        connection.execute(
            "insert into public.products (product_id, sku, name) values ('P1', 'S1', 'Pre-Roll')"
        )
        connection.execute(
            "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
            "values ('T1', 'M1', now() - interval '1 day', 10)"
        )
        yield connection


def failure(conn: psycopg.Connection, sql: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql)
    return caught.value


def test_a_phone_that_is_not_a_phone_is_refused_naming_the_column(conn) -> None:
    error = failure(conn, "insert into public.customers (member_id, phone) values ('M2', '555-1234')")
    assert isinstance(error, errors.InvalidParameterValue)  # 22023
    assert "customers.phone" in str(error) and "555-1234" in str(error)


def test_a_common_us_phone_format_is_stored_in_e164(conn) -> None:
    conn.execute("insert into public.customers (member_id, phone) values ('M3', '(619) 977-3020')")
    assert (
        conn.execute("select phone from public.customers where member_id = 'M3'").fetchone()[0]
        == "+16199773020"
    )


def test_a_negative_quantity_is_refused_by_its_check_constraint(conn) -> None:
    error = failure(
        conn,
        "insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, "
        "unit_price, total_price) values ('T1', 1, 'S1', -1, 10, -10)",
    )
    assert isinstance(error, errors.CheckViolation)  # 23514
    assert error.diag.constraint_name == "transaction_items_quantity_check"
    assert "transaction_items_quantity_check" in str(error)


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
            "values ('T2', 'NO-SUCH-MEMBER', now(), 5)",
            "transactions_customer_id_fkey",
        ),
        (
            "insert into public.transaction_items (transaction_id, line_number, quantity, unit_price, "
            "total_price) values ('NO-SUCH-TX', 1, 1, 5, 5)",
            "transaction_items_transaction_id_fkey",
        ),
        (
            "insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, "
            "unit_price, total_price) values ('T1', 1, 'NO-SUCH-SKU', 1, 5, 5)",
            "transaction_items_product_sku_fkey",
        ),
    ],
    ids=["unknown customer", "unknown transaction", "unknown sku"],
)
def test_an_unknown_reference_is_refused_naming_the_foreign_key(conn, sql: str, constraint: str) -> None:
    error = failure(conn, sql)
    assert isinstance(error, errors.ForeignKeyViolation)  # 23503
    assert error.diag.constraint_name == constraint
    assert constraint in str(error)


@pytest.mark.parametrize(
    ("sql", "constraint", "key"),
    [
        ("insert into public.customers (member_id) values ('M1')", "customers_member_id_key", "member_id"),
        (
            "insert into public.products (product_id, name) values ('P1', 'x')",
            "products_product_id_key",
            "product_id",
        ),
        (
            "insert into public.products (product_id, sku, name) values ('P2', 'S1', 'x')",
            "products_sku_key",
            "sku",
        ),
        (
            "insert into public.transactions (transaction_id, date, total_amount) values ('T1', now(), 1)",
            "transactions_transaction_id_key",
            "transaction_id",
        ),
    ],
    ids=["member_id", "product_id", "sku", "transaction_id"],
)
def test_a_duplicate_business_key_is_refused_naming_the_key(
    conn, sql: str, constraint: str, key: str
) -> None:
    error = failure(conn, sql)
    assert isinstance(error, errors.UniqueViolation)  # 23505
    assert error.diag.constraint_name == constraint
    assert key in (error.diag.message_detail or "")


def test_a_sale_with_a_negative_total_is_refused(conn) -> None:
    error = failure(
        conn,
        "insert into public.transactions (transaction_id, date, total_amount) values ('T9', now(), -5)",
    )
    assert isinstance(error, errors.CheckViolation)
    assert error.diag.constraint_name == "transactions_amount_sign_check"
