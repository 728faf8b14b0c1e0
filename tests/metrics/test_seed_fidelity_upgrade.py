"""An upgrade over the last release converges on seed 000's formulas: the derived rows written
by the old formulas are recomputed (the package's own measures land in their new columns), the
old default offer text becomes the seed's while an owner's edited texts stay, and installing
again changes nothing."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from conductor_dev import installer

D = Decimal

# Visits 30, 20 and 7 days before the store's today (gaps 10 and 13), the last one with three
# units at $20 list and $10 off the line; an earlier unit of the same product at $24.
HISTORY = """
insert into public.products (product_id, sku, name, category) values ('P1', 'SKU-1', 'Gummies', 'Edibles');
insert into public.customers (member_id, name, phone) values ('M1', 'Ada', '+16195550101');
insert into public.transactions (transaction_id, customer_id, "date", total_amount)
select 'T' || n, 'M1', (((now() at time zone 'America/Los_Angeles')::date - n) + time '12:00') at time zone 'America/Los_Angeles', amount
from (values (30, 24.00), (20, 10.00), (7, 50.00)) as v (n, amount);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('T30', 1, 'SKU-1', 1, 24.00, 24.00), ('T7', 1, 'SKU-1', 3, 20.00, 50.00);
update conductor.offers set offer_text = 'Half off edibles, this week only' where category = 'Edibles';
"""


def derived(conn: psycopg.Connection) -> tuple:
    patterns = conn.execute(
        "select xmin::text, avg_days_between_visits, visit_consistency_score, visit_regularity_score, "
        "predicted_next_visit, predicted_next_visit_rounded, last_visit_deviation_days "
        "from public.customer_visit_patterns where customer_id = 'M1'"
    ).fetchone()
    affinity = conn.execute(
        "select xmin::text, avg_price_paid, avg_unit_price_weighted, repurchase_rate, purchase_days "
        "from public.customer_product_affinity where customer_id = 'M1'"
    ).fetchone()
    return patterns, affinity


def setting(conn: psycopg.Connection, key: str):
    return conn.execute("select value from conductor.settings where key = %s", (key,)).fetchone()[0]


def test_an_upgrade_recomputes_the_seed_formulas_and_keeps_owner_texts(empty_db):
    release = installer.releases()[-1]
    installer.run_script(empty_db.url, release)
    with psycopg.connect(empty_db.url, autocommit=True) as conn:
        conn.execute(HISTORY)
        # The old formulas: a 2-decimal mean, a consistency score from the population SD, the
        # unit-weighted price and the share of later visits.
        assert conn.execute(
            "select avg_days_between_visits, visit_consistency_score from public.customer_visit_patterns"
        ).fetchone() == (D("11.50"), D("8.70"))
        assert conn.execute(
            "select avg_price_paid, repurchase_rate from public.customer_product_affinity"
        ).fetchone() == (D("18.50"), D("0.5000"))
        assert setting(conn, "default_offer") == "$10 off your next purchase"

    installer.install(empty_db.url)

    with psycopg.connect(empty_db.url, autocommit=True) as conn:
        today = conn.execute("select conductor.store_today()").fetchone()[0]
        patterns, affinity = derived(conn)
        # Seed 000: mean 11.5; 10 - sample SD sqrt(4.5) / 11.5; last visit + 11.5 days, truncated;
        # days since the last visit - AVG::int = 7 - 12.
        assert patterns[1] == D("11.5")
        assert abs(patterns[2] - (D(10) - D("4.5").sqrt() / D("11.5"))) < D("1e-12")
        assert patterns[3] == D("8.70")  # the package's score, kept beside it
        assert (patterns[4] - today).days == 4 and (patterns[5] - today).days == 5
        assert patterns[6] == -5
        # AVG(unit_price) = (24 + 20) / 2; the unit-weighted price (24 + 50) / 4; bought twice: 1.0.
        assert affinity[1:] == (D(22), D("18.50"), 1, 2)
        # The share of later visits, now computed where it is read, is what the release stored.
        assert conn.execute(
            "select repurchase_share from conductor.ranked_product_affinity where customer_id = 'M1'"
        ).fetchone() == (D("0.5000"),)

        assert setting(conn, "default_offer") == "$10 off next purchase"
        assert conn.execute(
            "select offer_text from conductor.offers where category = 'Edibles'"
        ).fetchone() == ("Half off edibles, this week only",)
        assert conn.execute(
            "select derived_table, revision from conductor.derived_revisions order by 1"
        ).fetchall() == [
            ("customer_context", 2),
            ("customer_product_affinity", 3),
            ("customer_visit_patterns", 3),
        ]

        # An owner's own default offer survives the next install; derived rows are not rewritten.
        conn.execute("update conductor.settings set value = '\"$5 off today\"' where key = 'default_offer'")
        before = derived(conn)

    installer.install(empty_db.url)

    with psycopg.connect(empty_db.url, autocommit=True) as conn:
        assert setting(conn, "default_offer") == "$5 off today"
        assert derived(conn) == before
