"""Install properties: idempotent, upgrade keeps data, a failing install changes nothing,
uninstall removes exactly the package, and a foreign table is never adopted."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from conductor_dev import installer
from conductor_dev.localdb import schema_dump

# Rows that only use columns present since the first release, so every release can load them.
SAMPLE_ROWS = """
insert into public.products (product_id, sku, name, brand, category, retail_price)
values ('P1', 'SKU-1', 'Blue Dream 3.5g', 'Kiva', 'Flower', 35.00),
       ('P2', 'SKU-2', 'Mango Gummies', 'Wyld', 'Edibles', 18.00);
insert into public.customers (member_id, name, phone, email, loyalty_points)
values ('M1', 'Ada Lovelace', '(619) 977-3020', 'ada@example.com', 120),
       ('M2', 'Grace Hopper', null, null, 0);
insert into public.transactions (transaction_id, customer_id, "date", shop_location, staff_name, total_amount)
values ('T1', 'M1', '2026-10-01 18:30+00', 'Downtown', 'Sam', 53.00),
       ('T2', 'M1', '2026-11-01 19:30+00', 'Downtown', 'Sam', 35.00),
       ('T3', null, '2026-11-02 20:00+00', 'Uptown', 'Lee', 18.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, product_name, category,
                                      quantity, unit_price, total_price)
values ('T1', 1, 'SKU-1', 'Blue Dream 3.5g', 'Flower', 1, 35.00, 35.00),
       ('T1', 2, 'SKU-2', 'Mango Gummies', 'Edibles', 1, 18.00, 18.00),
       ('T2', 1, 'SKU-1', 'Blue Dream 3.5g', 'Flower', 1, 35.00, 35.00),
       ('T3', 1, 'SKU-2', 'Mango Gummies', 'Edibles', 1, 18.00, 18.00);
insert into public.leads (phone_number, last_message) values ('+16195550123', 'hi, are you open?');
update conductor.settings set value = '"America/Denver"' where key = 'store_time_zone';
"""

# The input columns each table must keep through any install (derived columns may be recomputed).
KEPT_COLUMNS = {
    "public.products": "product_id, sku, name, brand, category, retail_price",
    "public.customers": "member_id, name, phone, email, loyalty_points",
    "public.transactions": 'transaction_id, customer_id, "date", shop_location, staff_name, total_amount',
    "public.transaction_items": "transaction_id, line_number, product_sku, quantity, unit_price, total_price",
    "public.leads": "phone_number, last_message",
    "conductor.settings": "key, value",
}


def package_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every package table with its xmin: equal means no row was even rewritten."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select object_identity from conductor.package_objects where object_kind = 'table' order by 1"
            )
        ]
        return {
            table: conn.execute(f"select xmin::text, * from {table} order by 2").fetchall()
            for table in tables
        }


def kept_rows(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"select {cols} from {table} order by 1, 2").fetchall()
            for table, cols in KEPT_COLUMNS.items()
        }


def load_sample(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(SAMPLE_ROWS)


REGISTRY = (
    "select xmin::text, object_kind, object_identity, registered_at "
    "from conductor.package_objects order by 2, 3"
)


def test_install_twice_changes_nothing(empty_db) -> None:
    installer.install(empty_db.url)
    load_sample(empty_db.url)
    schema, rows = schema_dump(empty_db.url), package_rows(empty_db.url)
    registry = empty_db.rows(REGISTRY)
    installer.install(empty_db.url)
    assert schema_dump(empty_db.url) == schema
    assert package_rows(empty_db.url) == rows
    # The registry too: no row of conductor.package_objects is rewritten (same xmin, same
    # registered_at), functions and views included.
    assert {kind for _, kind, _, _ in registry} == {"table", "function", "view", "materialized view"}
    assert empty_db.rows(REGISTRY) == registry


def test_a_reinstall_registers_new_code_and_forgets_code_it_no_longer_creates(empty_db, tmp_path) -> None:
    installer.install(empty_db.url)
    registry = {row[1:3]: row for row in empty_db.rows(REGISTRY)}
    root = tmp_path / "changed"
    shutil.copytree(installer.SQL_DIR, root / "sql")
    shutil.copy(installer.ROOT / "VERSION", root / "VERSION")
    api = root / "sql" / "functions" / "api" / "get_customer_top_products.sql"
    api.write_text(api.read_text().replace("get_customer_top_products", "get_customer_top_products_v2"))

    installer.install(empty_db.url, sql_dir=root / "sql")

    after = {row[1:3]: row for row in empty_db.rows(REGISTRY)}
    dropped = {key for key in registry if "get_customer_top_products(" in key[1]}
    added = {key for key in after if "get_customer_top_products_v2(" in key[1]}
    assert dropped and added
    assert set(after) == set(registry) - dropped | added
    assert {key: after[key] for key in set(registry) - dropped} == {
        key: registry[key] for key in set(registry) - dropped
    }


def test_install_records_version(empty_db) -> None:
    installer.install(empty_db.url)
    assert empty_db.scalar("select version from conductor.installed_versions") == installer.version()


def latest_release() -> Path:
    """The newest frozen release script (releases/conductor-<version>.sql)."""
    scripts = installer.releases()
    assert scripts, "no release script in releases/; `make release` writes one"
    return scripts[-1]


def test_upgrade_from_last_release_keeps_every_row(empty_db, pg_cluster) -> None:
    release = latest_release()
    old_version = release.stem.removeprefix("conductor-")
    installer.run_script(empty_db.url, release)
    assert empty_db.scalar("select version from conductor.installed_versions") == old_version
    load_sample(empty_db.url)
    before = kept_rows(empty_db.url)
    counts = {t: len(r) for t, r in package_rows(empty_db.url).items()}

    installer.install(empty_db.url)

    # An upgrade may add default settings rows; every earlier row keeps its value, except that a
    # default_offer still holding the earlier package default becomes seed 000's text (an
    # owner's own text stays: tests/metrics/test_seed_fidelity_upgrade.py).
    after = kept_rows(empty_db.url)
    old_keys = {row[0] for row in before["conductor.settings"]}
    new_settings = len(after["conductor.settings"]) - len(old_keys)
    after["conductor.settings"] = [row for row in after["conductor.settings"] if row[0] in old_keys]
    old_offer, seed_offer = "$10 off your next purchase", "$10 off next purchase"
    before["conductor.settings"] = [
        (key, seed_offer if (key, value) == ("default_offer", old_offer) else value)
        for key, value in before["conductor.settings"]
    ]
    assert after == before
    after_counts = {t: len(r) for t, r in package_rows(empty_db.url).items()}
    counts["conductor.installed_versions"] += old_version != installer.version()
    counts["conductor.settings"] += new_settings
    assert {t: after_counts[t] for t in counts} == counts
    versions = {row[1] for row in package_rows(empty_db.url)["conductor.installed_versions"]}
    assert versions == {old_version, installer.version()}

    fresh_name = empty_db.name + "_fresh"
    pg_cluster.psql(f'create database "{fresh_name}"')
    try:
        installer.install(pg_cluster.url(fresh_name))
        assert schema_dump(empty_db.url) == schema_dump(pg_cluster.url(fresh_name))
    finally:
        pg_cluster.psql(f'drop database "{fresh_name}"')


BAD_DATES = """
insert into public.customers (member_id, name, registered_on) values ('M1', 'Ada', '0001-01-01');
insert into public.staff (staff_name, shop_location, hire_date) values ('Sam', 'Downtown', '-infinity');
insert into public.products (product_id, sku, name, leafly_data_updated)
values ('P1', 'SKU-1', 'x', 'infinity');
insert into public.transactions (transaction_id, customer_id, "date", total_amount)
values ('T1', 'M1', '2026-10-01 18:30+00', 53.00), ('T-INF', null, 'infinity', 5.00);
"""


def row_counts(database) -> dict[str, int]:
    tables = ["public.customers", "public.staff", "public.products", "public.transactions"]
    return {t: database.scalar(f"select count(*) from {t}") for t in tables}


def test_upgrade_over_implausible_dates_keeps_every_row_and_does_not_fail(empty_db) -> None:
    installer.run_script(empty_db.url, latest_release())
    empty_db.execute(BAD_DATES)
    before = row_counts(empty_db)

    output = installer.install(empty_db.url)

    # The transaction (date is required) is kept as it is; its constraint waits, NOT VALID.
    assert "transactions_date_plausible" in output and "WARNING" in output
    after = row_counts(empty_db)
    assert after == before
    assert (
        empty_db.scalar("select date::text from public.transactions where transaction_id = 'T-INF'")
        == "infinity"
    )
    validated = dict(
        empty_db.rows("select conname, convalidated from pg_constraint where conname like '%%plausible'")
    )
    assert validated == {
        "transactions_date_plausible": False,
        "customers_registered_on_plausible": True,
        "staff_hire_date_plausible": True,
        "products_leafly_data_updated_plausible": True,
    }
    # Optional dates are cleared, each recorded with its value.
    assert empty_db.rows(
        "select entity, business_key, field, bad_value, action from conductor.data_issues order by entity"
    ) == [
        ("customers", "M1", "registered_on", "0001-01-01", "field_cleared"),
        ("products", "P1", "leafly_data_updated", "infinity", "field_cleared"),
        ("staff", "Sam @ Downtown", "hire_date", "-infinity", "field_cleared"),
    ]
    # date_joined, the earlier of registered_on and the first visit, is now the first visit.
    assert empty_db.rows("select registered_on, date_joined = first_visited from public.customers") == [
        (None, True)
    ]
    # New and changed rows are checked all the same, and the member's sales are maintained.
    with pytest.raises(psycopg.errors.CheckViolation, match="transactions_date_plausible"):
        empty_db.execute(
            "insert into public.transactions (transaction_id, date, total_amount) "
            "values ('T-NEW', '-infinity', 1)"
        )
    empty_db.execute(
        "insert into public.transactions (transaction_id, customer_id, date, total_amount) "
        "values ('T2', 'M1', now() - interval '1 day', 10)"
    )
    assert empty_db.scalar("select total_visits from public.customers where member_id = 'M1'") == 2

    # Once the stored row is fixed, the next install validates the constraint, and a further
    # install changes nothing.
    empty_db.execute(
        "update public.transactions set date = '2026-10-02 12:00+00' where transaction_id = 'T-INF'"
    )
    output = installer.install(empty_db.url)
    assert "transactions_date_plausible" not in output
    assert (
        empty_db.scalar(
            "select convalidated from pg_constraint where conname = 'transactions_date_plausible'"
        )
        is True
    )
    issues = empty_db.scalar("select count(*) from conductor.data_issues")
    installer.install(empty_db.url)
    assert empty_db.scalar("select count(*) from conductor.data_issues") == issues


def broken_tree(tmp_path: Path) -> Path:
    """A copy of the package whose last manifest file ends in an error."""
    root = tmp_path / "broken"
    shutil.copytree(installer.SQL_DIR, root / "sql")
    shutil.copy(installer.ROOT / "VERSION", root / "VERSION")
    manifest = (root / "sql" / "install.sql").read_text().splitlines()
    last = [line for line in manifest if line.startswith("\\ir ")][-1].split()[1]
    with open(root / "sql" / last, "a") as fh:
        fh.write("\nselect 1 / 0; -- injected failure\n")
    return root / "sql"


def test_failing_install_leaves_database_as_it_was(empty_db, tmp_path) -> None:
    installer.install(empty_db.url)
    load_sample(empty_db.url)
    schema, rows = schema_dump(empty_db.url), package_rows(empty_db.url)
    with pytest.raises(installer.InstallError, match="division by zero"):
        installer.install(empty_db.url, sql_dir=broken_tree(tmp_path))
    assert schema_dump(empty_db.url) == schema
    assert package_rows(empty_db.url) == rows


def test_failing_first_install_leaves_empty_database(empty_db, tmp_path) -> None:
    schema = schema_dump(empty_db.url)
    with pytest.raises(installer.InstallError):
        installer.install(empty_db.url, sql_dir=broken_tree(tmp_path))
    assert schema_dump(empty_db.url) == schema
    assert empty_db.scalar("select to_regnamespace('conductor')") is None


CODE_OBJECTS = """
select 'function ' || p.oid::regprocedure::text from pg_proc as p
where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
union all
select 'relation ' || c.oid::regclass::text from pg_class as c
where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace) and c.relkind in ('v', 'm')
union all
select 'trigger ' || t.tgname from pg_trigger as t
join pg_class as c on c.oid = t.tgrelid
where not t.tgisinternal and c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
union all
select 'policy ' || polname from pg_policy
"""


def catalog_snapshot(url: str) -> str:
    """Everything in the database that is not a system object, as a schema dump."""
    return schema_dump(url)


def test_uninstall_keeps_tables_and_removes_the_code_layer(empty_db) -> None:
    installer.install(empty_db.url)
    load_sample(empty_db.url)
    rows = kept_rows(empty_db.url)
    assert empty_db.rows(CODE_OBJECTS), "the install created code objects"

    installer.uninstall(empty_db.url)

    assert empty_db.rows(CODE_OBJECTS) == []
    assert kept_rows(empty_db.url) == rows


def test_uninstall_with_drop_data_leaves_nothing_of_the_package(empty_db) -> None:
    empty_db.execute("create table public.shop_notes (id int primary key, note text)")
    empty_db.execute("create function public.shop_helper() returns int language sql as 'select 1'")
    before = catalog_snapshot(empty_db.url)
    installer.install(empty_db.url)
    load_sample(empty_db.url)

    installer.uninstall(empty_db.url, drop_data=True)

    assert catalog_snapshot(empty_db.url) == before


def test_reinstall_after_uninstall_keeps_the_data(empty_db) -> None:
    installer.install(empty_db.url)
    load_sample(empty_db.url)
    rows = kept_rows(empty_db.url)
    installer.uninstall(empty_db.url)
    installer.install(empty_db.url)
    assert kept_rows(empty_db.url) == rows


def test_install_refuses_a_table_it_did_not_create(empty_db) -> None:
    empty_db.execute("create table public.customers (id int4 primary key, name text)")
    with pytest.raises(installer.InstallError, match="public.customers already exists and was not created"):
        installer.install(empty_db.url)
    assert empty_db.scalar("select to_regnamespace('conductor')") is None


def test_migration_file_installs_like_the_manifest(empty_db, tmp_path, pg_cluster) -> None:
    path = installer.write_migration(tmp_path / "supabase" / "migrations")
    assert path.name.endswith(f"_conductor_{installer.version().replace('.', '_')}.sql")
    text = path.read_text()
    assert "\\ir" not in text and ":'conductor_version'" not in text
    # As `supabase db push` does: the file is one transaction, without psql.
    with psycopg.connect(empty_db.url) as conn, conn.transaction():
        conn.execute(text)
    manifest_name = empty_db.name + "_manifest"
    pg_cluster.psql(f'create database "{manifest_name}"')
    try:
        installer.install(pg_cluster.url(manifest_name))
        assert schema_dump(empty_db.url) == schema_dump(pg_cluster.url(manifest_name))
    finally:
        pg_cluster.psql(f'drop database "{manifest_name}"')


def test_release_script_is_the_tree_frozen_and_releases_sort_by_version(
    empty_db, tmp_path, pg_cluster
) -> None:
    path = installer.write_release(out_dir=tmp_path / "releases")
    assert path.name == f"conductor-{installer.version()}.sql"
    assert installer.releases(tmp_path / "releases") == [path]
    for name in ("conductor-0.10.0.sql", "conductor-0.9.1.sql", "conductor-0.2.0.sql"):
        (tmp_path / name).touch()
    assert [p.name for p in installer.releases(tmp_path)] == [
        "conductor-0.2.0.sql",
        "conductor-0.9.1.sql",
        "conductor-0.10.0.sql",
    ]
    installer.run_script(empty_db.url, path)
    tree_name = empty_db.name + "_tree"
    pg_cluster.psql(f'create database "{tree_name}"')
    try:
        installer.install(pg_cluster.url(tree_name))
        assert schema_dump(empty_db.url) == schema_dump(pg_cluster.url(tree_name))
    finally:
        pg_cluster.psql(f'drop database "{tree_name}"')
