"""customer_product_affinity's storage: the rows of many customers computed into an empty table (a
first load, a rebuild from raw rows) go into a freshly built partition that replaces the empty one.
The swapped-in partition is exactly the installed one (schema, privileges, comments, row level
security, indexes, foreign key, triggers), whatever default privileges the database had; its rows
are those the sales' maintenance kept. Into a table that holds other customers' rows, the rows are
inserted in place and the partition stays."""

from __future__ import annotations

from conductor_dev.localdb import schema_dump

from .conftest import assert_maintained_equals_rebuild

COLUMNS = (
    "customer_id, product_sku, product_name, category, brand, purchase_count, units_purchased, "
    "total_spent, first_purchased, last_purchased, avg_price_paid, avg_unit_price_weighted, "
    "repurchase_rate, purchase_days, first_visit_number, sale_lines, sale_unit_price_sum, sale_spent"
)
ROWS = f"select {COLUMNS} from public.customer_product_affinity order by customer_id, product_sku"
PARTITION = "select 'conductor.customer_product_affinity_rows'::regclass::oid"


def many_customers(conn) -> list[str]:
    """Every customer, past 1,000 ids with customers who have no sales (they get no rows)."""
    conn.execute(
        "insert into public.customers (member_id) select 'BULK-' || g from generate_series(1, 1001) as g"
    )
    return [r[0] for r in conn.execute("select member_id from public.customers order by member_id")]


def test_a_rebuild_into_an_empty_table_swaps_in_a_partition_exactly_as_installed(seeded_db):
    with seeded_db.connect() as conn:
        maintained = conn.execute(ROWS).fetchall()
        assert len({row[0] for row in maintained}) > 50  # the seeded history, many customers
        ids = many_customers(conn)
        # Whatever the database grants on new tables, the new partition gets the installed one's privileges.
        conn.execute("alter default privileges in schema conductor grant all on tables to anon, service_role")
        conn.execute("alter default privileges grant all on tables to public")
        before = schema_dump(seeded_db.url)
        partition_before = conn.execute(PARTITION).fetchone()[0]
        with conn.transaction():
            conn.execute("delete from public.customer_product_affinity")
            written = conn.execute("select conductor.refresh_product_affinity(%s)", (ids,)).fetchone()[0]
            assert written == len(maintained)
        assert conn.execute(PARTITION).fetchone()[0] != partition_before
        assert conn.execute(ROWS).fetchall() == maintained
        assert conn.execute(
            "select has_table_privilege(r, 'conductor.customer_product_affinity_rows', 'select') "
            "from unnest(array['anon', 'service_role', 'public']) as r"
        ).fetchall() == [(False,), (False,), (False,)]
        assert schema_dump(seeded_db.url) == before
        # The table's trigger runs on the new partition: an updated row moves updated_at.
        customer = maintained[0][0]
        conn.execute(
            "update public.customer_product_affinity set brand = 'x', updated_at = updated_at "
            "where customer_id = %s and product_sku = %s",
            (customer, maintained[0][1]),
        )
        assert conn.execute(
            "select updated_at > created_at from public.customer_product_affinity where customer_id = %s "
            "and product_sku = %s",
            (customer, maintained[0][1]),
        ).fetchone()[0]
        conn.execute("select conductor.rebuild_all()")
        assert_maintained_equals_rebuild(conn)


def test_rows_of_many_customers_beside_other_customers_rows_are_inserted_in_place(seeded_db):
    with seeded_db.connect() as conn:
        maintained = conn.execute(ROWS).fetchall()
        ids = many_customers(conn)
        kept = maintained[0][0]  # this customer's rows stay; everyone else's are computed again
        partition_before = conn.execute(PARTITION).fetchone()[0]
        with conn.transaction():
            conn.execute("delete from public.customer_product_affinity where customer_id <> %s", (kept,))
            others = [i for i in ids if i != kept]
            written = conn.execute("select conductor.refresh_product_affinity(%s)", (others,)).fetchone()[0]
            assert written == sum(1 for row in maintained if row[0] != kept)
        assert conn.execute(PARTITION).fetchone()[0] == partition_before
        assert conn.execute(ROWS).fetchall() == maintained
        assert_maintained_equals_rebuild(conn)
