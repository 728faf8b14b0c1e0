"""`conductor-dev import`: load POS CSV exports through the import path.

Each file is a CSV export of one entity (customers, products, staff, transactions,
transaction_items) with a header line naming its columns (the columns of
`conductor.staging_<entity>`, in any order, any subset). The server reads the raw bytes with
COPY, in the file's encoding (`--encoding`, UTF8 by default): a byte sequence that is not valid in
that encoding refuses the whole file with an error naming the file, its line and the encoding.
Then `conductor.import_all(source)` validates, casts and upserts every staged row; bad values
become rows of `conductor.data_issues`. Everything runs in one transaction: a refused file
leaves the database as it was.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import errors, sql

ENTITIES = ("products", "customers", "staff", "transactions", "transaction_items")
# PostgreSQL encoding names -> Python codecs, to read the header line (the rows are the server's).
COPY_BLOCK = 1 << 20  # bytes sent to COPY at a time: a file is never read whole into memory
PYTHON_CODECS = {"UTF8": "utf-8", "SQL_ASCII": "latin-1", "LATIN1": "latin-1", "WIN1252": "cp1252"}


class CsvImportError(RuntimeError):
    """A file could not be staged; the transaction was rolled back."""


@dataclass
class ImportFile:
    entity: str
    path: Path


def parse_file_argument(argument: str) -> ImportFile:
    """`ENTITY=PATH`, or a PATH whose name (without .csv) is the entity, e.g. customers.csv."""
    entity, sep, path = argument.partition("=")
    if not sep:
        path, entity = argument, Path(argument).name.split(".", 1)[0]
    entity = entity.strip().lower().replace("-", "_")
    if entity not in ENTITIES:
        raise CsvImportError(
            f"{argument}: which entity is this file? Name it <entity>.csv or pass <entity>=<file>, "
            f"with entity one of {', '.join(ENTITIES)}"
        )
    return ImportFile(entity, Path(path))


def default_source() -> str:
    return "conductor-dev import " + datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_encoding_name(conn: psycopg.Connection, encoding: str) -> str:
    """The canonical PostgreSQL name of an encoding (latin1, ISO-8859-1 -> LATIN1), or an error."""
    name = conn.execute(
        "select pg_catalog.pg_encoding_to_char(pg_catalog.pg_char_to_encoding(%s))", (encoding,)
    ).fetchone()[0]
    if not name:
        raise CsvImportError(
            f"--encoding: {encoding!r} is not an encoding PostgreSQL knows (e.g. UTF8, LATIN1, WIN1252)"
        )
    return name


def header_columns(item: ImportFile, first_line: bytes, encoding: str, allowed: list[str]) -> list[str]:
    """The staging columns the header line names, in file order."""
    first_line = first_line.rstrip(b"\r\n")
    if first_line.startswith(codecs.BOM_UTF8):
        first_line = first_line[len(codecs.BOM_UTF8) :]
    text = first_line.decode(PYTHON_CODECS.get(encoding, "latin-1"), errors="replace")
    names = [name.strip().lower() for name in next(csv.reader(io.StringIO(text)), [])]
    if not any(names):
        raise CsvImportError(f"{item.path}: the first line must be a header naming the columns")
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise CsvImportError(
            f"{item.path}: column {unknown[0]!r} is not a column of conductor.staging_{item.entity} "
            f"(its columns: {', '.join(allowed)})"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CsvImportError(f"{item.path}: column {repeated[0]!r} appears twice in the header")
    return names


def staging_columns(conn: psycopg.Connection, entity: str) -> list[str]:
    rows = conn.execute(
        "select a.attname from pg_catalog.pg_attribute as a "
        "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped "
        "and a.attname not in ('source', 'row_number', 'staged_at') order by a.attnum",
        (f"conductor.staging_{entity}",),
    ).fetchall()
    return [r[0] for r in rows]


def stage_file(conn: psycopg.Connection, item: ImportFile, source: str, encoding: str) -> int:
    """COPY one file into conductor.staging_<entity> under `source`, rows numbered from 1 in file order."""
    try:
        with item.path.open("rb") as fh:
            first_line = fh.readline()
    except OSError as exc:
        raise CsvImportError(f"{item.path}: {exc.strerror}") from exc
    columns = header_columns(item, first_line, encoding, staging_columns(conn, item.entity))
    column_list = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    conn.execute("drop table if exists pg_temp.conductor_csv")
    conn.execute(
        sql.SQL(
            "create temporary table conductor_csv (n bigint generated always as identity, {}) on commit drop"
        ).format(sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in columns))
    )
    copy_sql = sql.SQL(
        "copy pg_temp.conductor_csv ({}) from stdin with (format csv, header true, encoding {})"
    ).format(column_list, sql.Literal(encoding))
    try:
        with item.path.open("rb") as fh, conn.cursor() as cur, cur.copy(copy_sql) as copy:
            while block := fh.read(COPY_BLOCK):
                copy.write(block)
    except (errors.CharacterNotInRepertoire, errors.UntranslatableCharacter) as exc:
        line = (exc.diag.context or "").rsplit(",", 1)[-1].strip()
        raise CsvImportError(
            f"{item.path}: not valid {encoding} text ({exc.diag.message_primary}"
            f"{'; ' + line if line else ''}). Nothing was imported. If the file is in another encoding, "
            f"name it with --encoding (e.g. --encoding LATIN1, or WIN1252 for Windows exports)."
        ) from exc
    except psycopg.errors.BadCopyFileFormat as exc:
        raise CsvImportError(
            f"{item.path}: not a CSV file COPY can read ({exc.diag.message_primary}; {exc.diag.context}). "
            "Nothing was imported."
        ) from exc
    staged = conn.execute(
        sql.SQL(
            "insert into {} (source, row_number, {}) "
            "select %s, c.n, {} from pg_temp.conductor_csv as c order by c.n"
        ).format(
            sql.Identifier("conductor", f"staging_{item.entity}"),
            column_list,
            sql.SQL(", ").join(sql.Identifier("c", col) for col in columns),
        ),
        (source,),
    ).rowcount
    conn.execute("drop table pg_temp.conductor_csv")
    return staged


def import_files(
    url: str, files: list[ImportFile], source: str | None = None, encoding: str = "UTF8"
) -> dict:
    """Stage every file and run conductor.import_all in one transaction; returns its counts."""
    if not files:
        raise CsvImportError("no file to import")
    entities = [f.entity for f in files]
    repeated = sorted({e for e in entities if entities.count(e) > 1})
    if repeated:
        raise CsvImportError(f"two files for {repeated[0]}: import them one after the other")
    source = source or default_source()
    with psycopg.connect(url) as conn:
        encoding = server_encoding_name(conn, encoding)
        if conn.execute(
            "select exists (select from conductor.staging_customers where source = %s) "
            "or exists (select from conductor.staging_products where source = %s) "
            "or exists (select from conductor.staging_staff where source = %s) "
            "or exists (select from conductor.staging_transactions where source = %s) "
            "or exists (select from conductor.staging_transaction_items where source = %s)",
            (source,) * 5,
        ).fetchone()[0]:
            raise CsvImportError(
                f"--source: rows labelled {source!r} are staged already; choose another label"
            )
        staged = {f.entity: stage_file(conn, f, source, encoding) for f in files}
        result = conn.execute("select conductor.import_all(%s)", (source,)).fetchone()[0]
        conn.commit()
    result["staged"] = staged
    return result


def describe(result: dict) -> str:
    """A short report: per entity, rows read, stored and refused, and where the issues are."""
    lines = [f"imported source {result['source']!r}:"]
    issues = 0
    for entity in ENTITIES:
        counts = result.get(entity) or {}
        if not counts.get("read"):
            continue
        issues += counts["rejected"] + counts["fields_cleared"]
        lines.append(
            f"  {entity}: {counts['read']} read, {counts['inserted']} inserted, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['rejected']} rejected, "
            f"{counts['fields_cleared']} values left out"
        )
    if issues:
        lines.append(
            "  data issues: select * from conductor.data_issues where import_batch_id in "
            "(select id from conductor.import_batches where source = '"
            + result["source"].replace("'", "''")
            + "')"
        )
    return "\n".join(lines)
