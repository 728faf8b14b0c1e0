"""Seed 000's explicit formulas, checked three ways on one small hand-built shop:

1. by hand: literal values worked out below from the seed's text for the edge cases (one gap, two
   gaps, a mean gap with a fraction, exactly 29/30/31/60/90 days since the last visit, a product
   bought on two receipts on one day, a quantity above 1 at a discount);
2. independently in Python from the raw rows (transactions, line items, customers), following
   the seed's SQL step by step, with the package's documented readings of what the seed leaves
   open (a visit is a distinct store-local day with a completed sale; refunds and voids are not
   purchases);
3. by running the seed's own SQL, word for word, over the same rows (visit days for
   calculate_visit_patterns, the line items for the affinity populate, the customers for the
   win-back materialized view) and comparing with what the package stores.

docs/seed-fidelity.md lists every formula and where the package implements it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, getcontext
from zoneinfo import ZoneInfo

import pytest

from .conftest import Line, Shop, assert_maintained_equals_rebuild

D = Decimal
getcontext().prec = 40
TOLERANCE = D("1e-12")  # PostgreSQL keeps at least 16 significant digits in numeric division and sqrt

# member -> visits as days before today (local noon unless a time is given).
VISITS = {
    "VP-ONE-VISIT": [5],
    "VP-ONE-GAP": [40, 10],
    "VP-TWO-GAPS": [30, 20, 7],
    "VP-EQUAL": [21, 14, 7],
    "VP-THIRDS": [50, 40, 30, 10],
    "VP-TWO-THIRDS": [40, 30, 20, 8],
    "VP-IRREGULAR": [100, 99, 98, 2],
    "VP-SAME-DAY": [(12, "10:00"), (12, "18:00"), 2],
}

# Win-back: (days since the only visit, category bought, phone, loyalty points).
WIN_BACK = {
    "WB-029": (29, "Flower", "+16195550129", 10),
    "WB-030": (30, "Flower", "+16195550130", 10),
    "WB-031": (31, "Flower", "+16195550131", 40),
    "WB-060": (60, "Vapes", "+16195550160", 0),
    "WB-090": (90, "Edibles", "+16195550190", 25),
    "WB-NOPHONE": (70, "Vapes", None, 0),
}
SEED_OFFERS = {"Vapes": "20% off all vapes", "Edibles": "Buy 2 get 1 free edibles"}
SEED_DEFAULT_OFFER = "$10 off next purchase"


def build(shop: Shop) -> None:
    for member, visits in VISITS.items():
        shop.customer(member)
        for visit in visits:
            days_ago, at = visit if isinstance(visit, tuple) else (visit, "12:00")
            shop.sale(member, days_ago, "10.00", at=at)

    # A product bought on two receipts on one day, then a later visit without it.
    shop.customer("AF-SAME-DAY")
    shop.sale("AF-SAME-DAY", 9, "10.00", at="10:00", lines=[Line("SKU-S", "10.00", category="Flower")])
    shop.sale("AF-SAME-DAY", 9, "12.00", at="17:00", lines=[Line("SKU-S", "12.00", category="Flower")])
    shop.sale("AF-SAME-DAY", 3, "5.00", lines=[Line("SKU-O", "5.00", category="Flower")])
    # Three units at $20 list with $10 off the line, then one unit at $24.
    shop.customer("AF-DISCOUNT")
    shop.sale(
        "AF-DISCOUNT",
        20,
        "50.00",
        lines=[Line("SKU-D", "50.00", quantity=3, unit_price="20.00", category="Vapes")],
    )
    shop.sale("AF-DISCOUNT", 6, "24.00", lines=[Line("SKU-D", "24.00", unit_price="24.00", category="Vapes")])

    for member, (days_ago, category, phone, points) in WIN_BACK.items():
        shop.customer(member, phone=phone, points=points)
        shop.sale(member, days_ago, "80.00", lines=[Line(f"SKU-{category}", "80.00", category=category)])
    shop.conn.execute("select conductor.refresh_win_back()")


@pytest.fixture
def seeded_shop(shop: Shop) -> Shop:
    build(shop)
    return shop


# --- 2. the seed's formulas computed independently in Python from the raw rows ---------------


def raw_sales(shop: Shop) -> list[dict]:
    """Completed sales with their store-local day, worked out here with zoneinfo."""
    zone = ZoneInfo(shop.row("select conductor.store_time_zone() as tz")["tz"])
    rows = shop.rows(
        "select transaction_id, customer_id, date, total_amount from public.transactions "
        "where status = 'completed' and transaction_type = 'sale' and customer_id is not null"
    )
    for row in rows:
        row["day"] = row["date"].astimezone(zone).date()
    return rows


def seed_visit_patterns(shop: Shop, today: date) -> dict[str, dict]:
    """calculate_visit_patterns() of seed 000 over visit days: gaps between consecutive visits,
    AVG, the CASE on the sample STDDEV, MAX(date) + AVG(gap) * 1 day stored as a date,
    days since the last visit - AVG(gap)::int, MAX and MIN gap, COUNT(*) + 1 visits."""
    days: dict[str, set[date]] = defaultdict(set)
    for sale in raw_sales(shop):
        days[sale["customer_id"]].add(sale["day"])
    out = {}
    for member, visit_days in days.items():
        ordered = sorted(visit_days)
        gaps = [D((b - a).days) for a, b in zip(ordered, ordered[1:], strict=False)]
        if not gaps:
            continue  # WHERE days_between IS NOT NULL: the seed writes no row
        mean = sum(gaps) / len(gaps)
        if len(gaps) == 1:
            score = D(0)  # STDDEV of one value is NULL: WHEN STDDEV(...) IS NULL THEN 0
        else:
            sd = (sum((g - mean) ** 2 for g in gaps) / (len(gaps) - 1)).sqrt()  # sample STDDEV
            score = D(10) if sd == 0 else max(D(0), 10 - sd / mean)
        last = ordered[-1]
        out[member] = {
            "total_visits": len(gaps) + 1,
            "avg_days_between_visits": mean,
            "visit_consistency_score": score,
            # a timestamp at the last visit's midnight plus a fractional number of days, cast to date
            "predicted_next_visit": last + timedelta(days=math.floor(mean)),
            # numeric::int rounds halves away from zero
            "last_visit_deviation_days": (today - last).days
            - int(mean.quantize(D(1), rounding=ROUND_HALF_UP)),
            "longest_gap_days": int(max(gaps)),
            "shortest_gap_days": int(min(gaps)),
        }
    return out


def seed_affinity(shop: Shop) -> dict[tuple[str, str], dict]:
    """Seed 000's affinity populate: per customer and product, purchases, SUM(total_price),
    the latest purchase day, AVG(unit_price), and 1.0 when bought more than once."""
    sales = {s["transaction_id"]: s for s in raw_sales(shop)}
    lines = shop.rows(
        "select transaction_id, product_sku, quantity, unit_price, total_price from public.transaction_items "
        "where product_sku is not null"
    )
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for line in lines:
        sale = sales.get(line["transaction_id"])
        if sale is not None:
            grouped[(sale["customer_id"], line["product_sku"])].append({**line, "day": sale["day"]})
    out = {}
    for key, rows in grouped.items():
        purchases = len({r["transaction_id"] for r in rows})
        out[key] = {
            "purchase_count": purchases,
            "total_spent": sum(r["total_price"] for r in rows),
            "last_purchased": max(r["day"] for r in rows),
            "avg_price_paid": sum(r["unit_price"] for r in rows) / len(rows),
            "repurchase_rate": D("1.0") if purchases > 1 else D("0.0"),
        }
    return out


def seed_win_back(shop: Shop, today: date) -> dict[str, dict]:
    """Seed 000's win_back_priority_queue: churn risk High or Medium (seed 004: High 60+ days,
    Medium 30-59) and more than 30 days since the last visit, with a phone; the score
    (LTV x 0.3 + visits x 10 x 0.2 + 100 / GREATEST(days, 1) x 0.3 + points x 0.2)::numeric(10,2);
    the offer by the favourite category (most line items)."""
    sales = raw_sales(shop)
    customers = {
        c["member_id"]: c for c in shop.rows("select member_id, phone, loyalty_points from public.customers")
    }
    categories: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in shop.rows(
        "select t.customer_id, i.category from public.transactions as t "
        "join public.transaction_items as i using (transaction_id) where t.customer_id is not null"
    ):
        categories[row["customer_id"]][row["category"]] += 1
    by_member: dict[str, list[dict]] = defaultdict(list)
    for sale in sales:
        by_member[sale["customer_id"]].append(sale)
    out = {}
    for member, member_sales in by_member.items():
        days_since = (today - max(s["day"] for s in member_sales)).days
        churn = "High" if days_since >= 60 else "Medium" if days_since >= 30 else "Low"
        phone = customers[member]["phone"]
        if churn not in ("High", "Medium") or days_since <= 30 or phone is None:
            continue
        visits = len({s["day"] for s in member_sales})
        ltv = sum(s["total_amount"] for s in member_sales)
        score = (
            ltv * D("0.3")
            + visits * 10 * D("0.2")
            + (D("100.0") / max(days_since, 1)) * D("0.3")
            + customers[member]["loyalty_points"] * D("0.2")
        ).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        favorite = max(categories[member].items(), key=lambda kv: kv[1])[0] if categories[member] else None
        out[member] = {
            "win_back_score": score,
            "favorite_category": favorite,
            "recommended_offer": SEED_OFFERS.get(favorite, SEED_DEFAULT_OFFER),
        }
    return out


def assert_close(got: Decimal, want: Decimal, what: str) -> None:
    assert got is not None and abs(got - want) < TOLERANCE, f"{what}: {got} != {want}"


def test_visit_patterns_follow_seed_000(seeded_shop: Shop):
    today = seeded_shop.today()
    expected = seed_visit_patterns(seeded_shop, today)
    stored = {r["customer_id"]: r for r in seeded_shop.rows("select * from public.customer_visit_patterns")}
    assert set(expected) == {m for m, r in stored.items() if r["avg_days_between_visits"] is not None}
    for member, want in expected.items():
        got = stored[member]
        for column in ("avg_days_between_visits", "visit_consistency_score"):
            assert_close(got[column], want[column], f"{member}.{column}")
        for column in (
            "total_visits",
            "predicted_next_visit",
            "last_visit_deviation_days",
            "longest_gap_days",
            "shortest_gap_days",
        ):
            assert got[column] == want[column], f"{member}.{column}: {got[column]} != {want[column]}"
    assert_maintained_equals_rebuild(seeded_shop.conn)


def test_affinity_follows_seed_000(seeded_shop: Shop):
    expected = seed_affinity(seeded_shop)
    stored = {
        (r["customer_id"], r["product_sku"]): r
        for r in seeded_shop.rows(
            "select a.*, r.repurchase_share from public.customer_product_affinity as a"
            " inner join conductor.ranked_product_affinity as r using (customer_id, product_sku)"
        )
    }
    assert set(stored) == set(expected)
    for key, want in expected.items():
        got = stored[key]
        assert_close(got["avg_price_paid"], want["avg_price_paid"], f"{key}.avg_price_paid")
        for column in ("purchase_count", "total_spent", "last_purchased", "repurchase_rate"):
            assert got[column] == want[column], f"{key}.{column}: {got[column]} != {want[column]}"


def test_win_back_queue_follows_seed_000(seeded_shop: Shop):
    today = seeded_shop.today()
    expected = seed_win_back(seeded_shop, today)
    queued = {r["customer_id"]: r for r in seeded_shop.rows("select * from public.win_back_priority_queue")}
    assert set(queued) == set(expected)
    for member, want in expected.items():
        got = {k: queued[member][k] for k in want}
        assert got == want, member


# --- 1. by hand ---------------------------------------------------------------------------


def test_visit_pattern_edge_cases_by_hand(seeded_shop: Shop):
    today = seeded_shop.today()
    rows = {r["customer_id"]: r for r in seeded_shop.rows("select * from public.customer_visit_patterns")}

    # One visit: no gap, so the seed writes no row; the package keeps one with the visit count.
    one = rows["VP-ONE-VISIT"]
    assert (one["total_visits"], one["avg_days_between_visits"], one["visit_consistency_score"]) == (
        1,
        None,
        None,
    )

    # One gap of 30 days: STDDEV of one value is NULL, and the seed's CASE makes that 0.
    g1 = rows["VP-ONE-GAP"]
    assert (g1["avg_days_between_visits"], g1["visit_consistency_score"], g1["visit_regularity_score"]) == (
        30,
        0,
        None,
    )
    assert (g1["predicted_next_visit"], g1["predicted_next_visit_rounded"]) == (today + timedelta(20),) * 2
    assert g1["last_visit_deviation_days"] == 10 - 30

    # Gaps 10 and 13: mean 11.5, sample SD sqrt(4.5) = 2.1213203...; 10 - 2.1213203 / 11.5.
    g2 = rows["VP-TWO-GAPS"]
    assert g2["avg_days_between_visits"] == D("11.5")
    assert_close(g2["visit_consistency_score"], D(10) - D("4.5").sqrt() / D("11.5"), "two gaps")
    assert g2["visit_consistency_score"].quantize(D("0.0001")) == D("9.8155")
    # population SD 1.5: regularity 10 x (1 - 1.5 / 11.5) = 8.70
    assert g2["visit_regularity_score"] == D("8.70")
    # 7 days ago + 11.5 days is 4.5 days from today: the date keeps day 4; rounded, 12 days: day 5.
    assert (g2["predicted_next_visit"], g2["predicted_next_visit_rounded"]) == (
        today + timedelta(4),
        today + timedelta(5),
    )
    assert g2["last_visit_deviation_days"] == 7 - 12  # AVG(gap)::int rounds 11.5 up to 12

    # Equal gaps: STDDEV 0, the seed's 10.
    assert rows["VP-EQUAL"]["visit_consistency_score"] == 10

    # Gaps 10, 10, 12: mean 10.667; truncated 10 days, rounded 11.
    thirds = rows["VP-TWO-THIRDS"]
    assert (thirds["predicted_next_visit"], thirds["predicted_next_visit_rounded"]) == (
        today + timedelta(2),
        today + timedelta(3),
    )
    assert thirds["last_visit_deviation_days"] == 8 - 11

    # Gaps 1, 1, 96: mean 32.667, sample SD 54.848: 10 - 1.679 = 8.32 (the seed's score stays
    # high); the regularity score is 0 (CV above 1).
    irregular = rows["VP-IRREGULAR"]
    assert irregular["visit_consistency_score"].quantize(D("0.01")) == D("8.32")
    assert irregular["visit_regularity_score"] == 0

    # Two receipts on one local day are one visit: visits 12 and 2 days ago, one gap of 10.
    same = rows["VP-SAME-DAY"]
    assert (same["total_visits"], same["avg_days_between_visits"], same["visit_consistency_score"]) == (
        2,
        10,
        0,
    )


def test_affinity_edge_cases_by_hand(seeded_shop: Shop):
    rows = {
        (r["customer_id"], r["product_sku"]): r
        for r in seeded_shop.rows(
            "select a.*, r.repurchase_share from public.customer_product_affinity as a"
            " inner join conductor.ranked_product_affinity as r using (customer_id, product_sku)"
        )
    }
    # Bought on two receipts on one day: two purchases, so the seed's repurchase rate is 1.0;
    # the package's share of later visits with it again is 0 (one later visit, without it).
    same = rows[("AF-SAME-DAY", "SKU-S")]
    assert (
        same["purchase_count"],
        same["total_spent"],
        same["repurchase_rate"],
        same["repurchase_share"],
    ) == (
        2,
        D("22.00"),
        1,
        0,
    )
    assert same["avg_price_paid"] == D(11)
    # Bought once: 0.0.
    assert rows[("AF-SAME-DAY", "SKU-O")]["repurchase_rate"] == 0
    # 3 units at $20 list with $10 off the line, then 1 unit at $24: AVG(unit_price) = (20 + 24) / 2
    # = 22; the unit-weighted price actually paid is (50 + 24) / 4 = 18.50.
    disc = rows[("AF-DISCOUNT", "SKU-D")]
    assert (disc["avg_price_paid"], disc["avg_unit_price_weighted"], disc["units_purchased"]) == (
        D(22),
        D("18.50"),
        4,
    )
    top = seeded_shop.rows(
        "select product_sku, avg_price_paid, avg_unit_price_weighted, repurchase_rate, repurchase_share "
        "from public.get_customer_top_products(%s)",
        ("+16195550131",),
    )
    assert [(r["product_sku"], r["repurchase_rate"], r["repurchase_share"]) for r in top] == [
        ("SKU-Flower", 0, None)
    ]
    context = seeded_shop.row(
        "select favorite_products from public.customer_sms_context where member_id = 'AF-SAME-DAY'"
    )
    assert [
        (p["product_sku"], p["repurchase_rate"], p["repurchase_share"]) for p in context["favorite_products"]
    ] == [
        ("SKU-S", 1, 0),
        ("SKU-O", 0, None),
    ]


def test_win_back_days_boundaries_by_hand(seeded_shop: Shop):
    queued = {
        r["customer_id"]: r
        for r in seeded_shop.rows(
            "select customer_id, churn_risk, days_since_last_visit, win_back_score, recommended_offer "
            "from public.win_back_priority_queue"
        )
    }
    # 29 days: Low. 30 days: Medium, but not more than 30 days. No phone: never queued.
    assert set(queued) == {"WB-031", "WB-060", "WB-090"}
    # $80 x 0.3 + 1 visit x 10 x 0.2 + 100 / days x 0.3 + points x 0.2
    assert {m: (r["churn_risk"], r["win_back_score"], r["recommended_offer"]) for m, r in queued.items()} == {
        "WB-031": ("Medium", D("34.97"), "$10 off next purchase"),  # 24 + 2 + 0.9677 + 8
        "WB-060": ("High", D("26.50"), "20% off all vapes"),  # 24 + 2 + 0.5 + 0
        "WB-090": ("High", D("31.33"), "Buy 2 get 1 free edibles"),  # 24 + 2 + 0.3333 + 5
    }


# --- 3. the seed's own SQL over the same rows -------------------------------------------------

SEED_VISIT_PATTERNS = """
    SELECT
        customer_id,
        AVG(days_between)::numeric as avg_days_between_visits,
        CASE
            WHEN STDDEV(days_between) IS NULL THEN 0
            WHEN STDDEV(days_between) = 0 THEN 10
            ELSE GREATEST(0, 10 - (STDDEV(days_between) / NULLIF(AVG(days_between), 0)))
        END as visit_consistency_score,
        (MAX(date) + (AVG(days_between) * INTERVAL '1 day'))::date as predicted_next_visit,
        EXTRACT(DAY FROM %(now)s - MAX(date))::int - AVG(days_between)::int as last_visit_deviation_days,
        MAX(days_between)::int as longest_gap_days,
        MIN(days_between)::int as shortest_gap_days,
        COUNT(*) + 1 as total_visits
    FROM (
        SELECT
            customer_id,
            date,
            EXTRACT(DAY FROM date - LAG(date) OVER (PARTITION BY customer_id ORDER BY date)) as days_between
        FROM pg_temp.seed_visits
        WHERE customer_id IS NOT NULL
    ) gaps
    WHERE days_between IS NOT NULL
    GROUP BY customer_id
"""

SEED_AFFINITY = """
    SELECT
        t.customer_id,
        ti.product_sku,
        COUNT(*) as purchase_count,
        SUM(ti.total_price) as total_spent,
        MAX(t.date)::date as last_purchased,
        AVG(ti.unit_price) as avg_price_paid,
        CASE
            WHEN COUNT(*) > 1 THEN 1.0
            ELSE 0.0
        END as repurchase_rate
    FROM transactions t
    JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
    WHERE t.customer_id IS NOT NULL
    GROUP BY t.customer_id, ti.product_sku, ti.product_name, ti.category
"""

SEED_WIN_BACK = """
    SELECT
        c.member_id as customer_id,
        (
            (c.lifetime_value * 0.3) +
            (c.total_visits * 10 * 0.2) +
            ((100.0 / GREATEST(c.days_since_last_visit, 1)) * 0.3) +
            (c.loyalty_points * 0.2)
        )::numeric(10,2) as win_back_score,
        (SELECT ti.category
         FROM transactions t
         JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
         WHERE t.customer_id = c.member_id
         GROUP BY ti.category
         ORDER BY COUNT(*) DESC
         LIMIT 1
        ) as favorite_category,
        CASE
            WHEN (SELECT ti.category
                  FROM transactions t
                  JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
                  WHERE t.customer_id = c.member_id
                  GROUP BY ti.category
                  ORDER BY COUNT(*) DESC
                  LIMIT 1) = 'Vapes' THEN '20% off all vapes'
            WHEN (SELECT ti.category
                  FROM transactions t
                  JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
                  WHERE t.customer_id = c.member_id
                  GROUP BY ti.category
                  ORDER BY COUNT(*) DESC
                  LIMIT 1) = 'Edibles' THEN 'Buy 2 get 1 free edibles'
            ELSE '$10 off next purchase'
        END as recommended_offer
    FROM customers c
    WHERE c.churn_risk IN ('High', 'Medium')
      AND c.days_since_last_visit > 30
      AND c.phone IS NOT NULL
"""


def test_the_seeds_own_sql_agrees(seeded_shop: Shop):
    conn = seeded_shop.conn
    tz = seeded_shop.row("select conductor.store_time_zone() as tz")["tz"]
    # The session (this test's own connection) reads dates in the store's zone, as the seed's
    # DATE columns would be cast, and finds the package's tables by the seed's unqualified names.
    conn.execute("select set_config('TimeZone', %s, false)", (tz,))
    conn.execute("set search_path = public, pg_temp")
    # The package's reading of a visit, given to the seed's query as its input rows: one row per
    # store-local day with a completed sale, at that day's midnight (a timestamp, so the day
    # arithmetic has no daylight-saving hour in it).
    conn.execute(
        """
        create temporary table seed_visits as
        select distinct customer_id, (date at time zone %s)::date::timestamp as date
        from public.transactions
        where status = 'completed' and transaction_type = 'sale'
        """,
        (tz,),
    )
    today = seeded_shop.today()
    noon = f"{today} 12:00"
    seed = {
        r["customer_id"]: r
        for r in seeded_shop.rows(SEED_VISIT_PATTERNS.replace("%(now)s", "%(now)s::timestamp"), {"now": noon})
    }
    columns = (
        "avg_days_between_visits, visit_consistency_score, predicted_next_visit, last_visit_deviation_days, "
        "longest_gap_days, shortest_gap_days, total_visits"
    )
    stored = {
        r["customer_id"]: r
        for r in seeded_shop.rows(
            f"select customer_id, {columns} from public.customer_visit_patterns "
            "where avg_days_between_visits is not null"
        )
    }
    assert stored == seed  # numerics equal to the last digit

    # The affinity populate over the affinity and win-back customers (completed sales only, one line
    # of a product per receipt: there the seed's COUNT(*) of lines is the package's purchases).
    seed_rows = {
        (r["customer_id"], r["product_sku"]): r
        for r in seeded_shop.rows(f"select * from ({SEED_AFFINITY}) as s where s.product_sku is not null")
    }
    stored_rows = {
        (r["customer_id"], r["product_sku"]): r
        for r in seeded_shop.rows(
            "select customer_id, product_sku, purchase_count, total_spent, last_purchased, avg_price_paid, "
            "repurchase_rate from public.customer_product_affinity"
        )
    }
    assert stored_rows == seed_rows

    seed_queue = {r["customer_id"]: r for r in seeded_shop.rows(SEED_WIN_BACK)}
    queue = {
        r["customer_id"]: r
        for r in seeded_shop.rows(
            "select customer_id, win_back_score, favorite_category, recommended_offer "
            "from public.win_back_priority_queue"
        )
    }
    assert queue == seed_queue
