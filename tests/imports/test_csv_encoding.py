"""CSV files in another encoding than UTF-8: `conductor-dev import --encoding` (and psql's
`\\copy ... with (encoding ...)`) load them correctly; without it the whole file is refused with an
error naming the file, the line and the encoding, and nothing is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from conductor_dev import csvimport, installer

CUSTOMERS_LATIN1 = (
    "member_id,name,city,registered_on\r\n"
    "M1,José Peña,San José,2024-01-05\r\n"
    "M2,Zoë Müller,Köln,-infinity\r\n"
).encode("latin-1")
TRANSACTIONS = (
    b"transaction_id,customer_id,date,total_amount\nT1,M1,2025-03-01 10:00,12.50\nT2,M2,2025-03-02 11:00,5\n"
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "customers.csv").write_bytes(CUSTOMERS_LATIN1)
    (tmp_path / "sales.csv").write_bytes(TRANSACTIONS)
    return tmp_path


def conductor_dev(*args: str, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "conductor_dev.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
        cwd=installer.ROOT,
    )


def names(db) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in db.rows("select member_id, name, city, registered_on from public.customers")}


def test_a_latin1_file_imports_correctly_with_the_encoding_option(db, files) -> None:
    result = conductor_dev(
        "import",
        "--encoding",
        "LATIN1",
        "--source",
        "shop export",
        str(files / "customers.csv"),
        f"transactions={files / 'sales.csv'}",
        database_url=db.url,
    )
    assert result.returncode == 0, result.stderr
    assert "customers: 2 read, 2 inserted" in result.stdout
    assert "transactions: 2 read, 2 inserted" in result.stdout
    stored = names(db)
    assert stored["M1"][:2] == ("José Peña", "San José")
    assert stored["M2"] == ("Zoë Müller", "Köln", None)
    # The bad date is a data issue of its row: data rows are numbered from 1 after the header.
    assert db.rows(
        "select i.source_row, i.field, i.bad_value from conductor.data_issues as i "
        "join conductor.import_batches as b on b.id = i.import_batch_id where b.source = 'shop export'"
    ) == [(2, "registered_on", "-infinity")]
    assert db.scalar("select count(*) from conductor.staging_customers") == 0


def test_without_the_option_the_file_is_refused_naming_file_line_and_encoding(db, files) -> None:
    result = conductor_dev(
        "import", str(files / "customers.csv"), f"transactions={files / 'sales.csv'}", database_url=db.url
    )
    assert result.returncode == 1
    assert "nothing was imported" in result.stderr
    assert f"{files / 'customers.csv'}: not valid UTF8 text" in result.stderr
    assert "line 2" in result.stderr and "--encoding" in result.stderr
    # One transaction: the good file was not imported either, and nothing stays staged.
    assert db.scalar("select count(*) from public.customers") == 0
    assert db.scalar("select count(*) from public.transactions") == 0
    assert db.scalar("select count(*) from conductor.staging_customers") == 0
    assert db.scalar("select count(*) from conductor.import_batches") == 0


def test_a_windows_1252_file_keeps_its_euro_sign_and_curly_quotes(db, tmp_path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes("product_id,sku,name,brand\nP1,S1,“Euro” Kush €5,Köhler\n".encode("cp1252"))
    result = csvimport.import_files(db.url, [csvimport.parse_file_argument(str(path))], encoding="win1252")
    assert result["products"]["inserted"] == 1
    assert db.rows("select name, brand from public.products") == [("“Euro” Kush €5", "Köhler")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"member_id,nickname\nM1,Jo\n", "column 'nickname' is not a column of conductor.staging_customers"),
        (b"member_id,name,name\nM1,Jo,Jo\n", "column 'name' appears twice"),
        (b"", "the first line must be a header"),
    ],
    ids=["unknown column", "repeated column", "empty file"],
)
def test_a_bad_header_is_refused_naming_the_file_and_column(
    db, tmp_path, content: bytes, message: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    with pytest.raises(csvimport.CsvImportError, match=message) as caught:
        csvimport.import_files(db.url, [csvimport.parse_file_argument(str(path))])
    assert str(path) in str(caught.value)
    assert db.scalar("select count(*) from public.customers") == 0


def test_an_unknown_encoding_or_entity_is_refused_naming_the_argument(db, files) -> None:
    item = csvimport.parse_file_argument(str(files / "customers.csv"))
    with pytest.raises(csvimport.CsvImportError, match="--encoding: 'klingon' is not an encoding"):
        csvimport.import_files(db.url, [item], encoding="klingon")
    with pytest.raises(csvimport.CsvImportError, match="sales.csv: which entity is this file"):
        csvimport.parse_file_argument(str(files / "sales.csv"))


def test_a_utf8_file_with_a_byte_order_mark_imports_by_default(db, tmp_path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("\ufeffmember_id,name\nM1,José Peña\n".encode())
    csvimport.import_files(db.url, [csvimport.parse_file_argument(str(path))])
    assert db.rows("select member_id, name from public.customers") == [("M1", "José Peña")]


# Plain COPY into the staging tables, as psql users load files.


def test_copy_into_staging_refuses_a_latin1_byte_unless_told_the_encoding(db) -> None:
    row = "M1,José Peña\n".encode("latin-1")
    copy_sql = "copy conductor.staging_customers (member_id, name) from stdin with (format csv{})"
    with db.connect() as conn:
        # 22021, the whole COPY (every column is text: this is the one way it fails on a value).
        with (
            pytest.raises(errors.CharacterNotInRepertoire, match='encoding "UTF8"'),
            conn.cursor().copy(copy_sql.format("")) as copy,
        ):
            copy.write(row)
        with conn.cursor().copy(copy_sql.format(", encoding 'LATIN1'")) as copy:
            copy.write(row)
        assert conn.execute("select name from conductor.staging_customers").fetchone() == ("José Peña",)


def test_psql_copy_with_encoding_as_documented(db, files) -> None:
    command = (
        "\\copy conductor.staging_customers (member_id, name, city, registered_on) "
        f"from '{files / 'customers.csv'}' with (format csv, header true, encoding 'LATIN1')"
    )
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.url, "-c", command], check=True)
    with psycopg.connect(db.url, autocommit=True) as conn:
        result = conn.execute("select conductor.import_all('csv')").fetchone()[0]
    assert result["customers"]["inserted"] == 2
    assert names(db)["M1"][:2] == ("José Peña", "San José")
