"""Golden fixtures: customers with hand-built histories and the metrics worked out by hand.

Thresholds are the installed defaults: VIP New 0-1 / Casual 2-5 / Regular 6-15 / VIP 16+ visits;
churn Low <30 / Medium 30-59 / High 60+ days; recency 5/4/3/2/1 at <=30/60/90/180/>180 days;
frequency 5/4/3/2/1 at >=10/5/3/1/0 orders; monetary 5/4/3/2/1 at >=1000/500/200/50/<50 dollars;
lead score 3R + 2F + M; hot 24+, warm 18+, cool 12+, cold 6+. Sales are dated `days_ago` local
days before the store's today (America/Los_Angeles), at local noon unless said otherwise.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from .conftest import Line, Shop, assert_maintained_equals_rebuild

D = Decimal

# member -> (sales as (days_ago, amount), expected
#   (visits, orders, lifetime_value, days_since, vip, churn, R, F, M, lead_score, segment))
CASES: dict[str, tuple[list[tuple[int, str]], tuple]] = {
    # VIP tiers on both sides of each boundary: 1/2, 5/6, 15/16 visits ($10 a visit).
    "VIP-01": ([(1, "10")], (1, 1, D("10"), 1, "New", "Low", 5, 2, 1, 20, "warm")),
    "VIP-02": ([(d, "10") for d in (1, 2)], (2, 2, D("20"), 1, "Casual", "Low", 5, 2, 1, 20, "warm")),
    "VIP-05": ([(d, "10") for d in range(1, 6)], (5, 5, D("50"), 1, "Casual", "Low", 5, 4, 2, 25, "hot")),
    "VIP-06": ([(d, "10") for d in range(1, 7)], (6, 6, D("60"), 1, "Regular", "Low", 5, 4, 2, 25, "hot")),
    "VIP-15": (
        [(d, "10") for d in range(1, 16)],
        (15, 15, D("150"), 1, "Regular", "Low", 5, 5, 2, 27, "hot"),
    ),
    "VIP-16": ([(d, "10") for d in range(1, 17)], (16, 16, D("160"), 1, "VIP", "Low", 5, 5, 2, 27, "hot")),
    # Churn 29/30 and 59/60 days; recency 30/31, 60/61, 90/91, 180/181 days (one $20 order: F2, M1).
    "DAYS-029": ([(29, "20")], (1, 1, D("20"), 29, "New", "Low", 5, 2, 1, 20, "warm")),
    "DAYS-030": ([(30, "20")], (1, 1, D("20"), 30, "New", "Medium", 5, 2, 1, 20, "warm")),
    "DAYS-031": ([(31, "20")], (1, 1, D("20"), 31, "New", "Medium", 4, 2, 1, 17, "cool")),
    "DAYS-059": ([(59, "20")], (1, 1, D("20"), 59, "New", "Medium", 4, 2, 1, 17, "cool")),
    "DAYS-060": ([(60, "20")], (1, 1, D("20"), 60, "New", "High", 4, 2, 1, 17, "cool")),
    "DAYS-061": ([(61, "20")], (1, 1, D("20"), 61, "New", "High", 3, 2, 1, 14, "cool")),
    "DAYS-090": ([(90, "20")], (1, 1, D("20"), 90, "New", "High", 3, 2, 1, 14, "cool")),
    "DAYS-091": ([(91, "20")], (1, 1, D("20"), 91, "New", "High", 2, 2, 1, 11, "cold")),
    "DAYS-180": ([(180, "20")], (1, 1, D("20"), 180, "New", "High", 2, 2, 1, 11, "cold")),
    "DAYS-181": ([(181, "20")], (1, 1, D("20"), 181, "New", "High", 1, 2, 1, 8, "cold")),
    # Frequency 2/3, 4/5, 9/10 orders ($1 each, a day apart).
    "ORDERS-03": ([(d, "1") for d in range(1, 4)], (3, 3, D("3"), 1, "Casual", "Low", 5, 3, 1, 22, "warm")),
    "ORDERS-04": ([(d, "1") for d in range(1, 5)], (4, 4, D("4"), 1, "Casual", "Low", 5, 3, 1, 22, "warm")),
    "ORDERS-09": ([(d, "1") for d in range(1, 10)], (9, 9, D("9"), 1, "Regular", "Low", 5, 4, 1, 24, "hot")),
    "ORDERS-10": (
        [(d, "1") for d in range(1, 11)],
        (10, 10, D("10"), 1, "Regular", "Low", 5, 5, 1, 26, "hot"),
    ),
    # Monetary on both sides of $50, $200, $500 and $1000 (one order 10 days ago: R5, F2).
    "MONEY-0049.99": ([(10, "49.99")], (1, 1, D("49.99"), 10, "New", "Low", 5, 2, 1, 20, "warm")),
    "MONEY-0050.00": ([(10, "50.00")], (1, 1, D("50.00"), 10, "New", "Low", 5, 2, 2, 21, "warm")),
    "MONEY-0199.99": ([(10, "199.99")], (1, 1, D("199.99"), 10, "New", "Low", 5, 2, 2, 21, "warm")),
    "MONEY-0200.00": ([(10, "200.00")], (1, 1, D("200.00"), 10, "New", "Low", 5, 2, 3, 22, "warm")),
    "MONEY-0499.99": ([(10, "499.99")], (1, 1, D("499.99"), 10, "New", "Low", 5, 2, 3, 22, "warm")),
    "MONEY-0500.00": ([(10, "500.00")], (1, 1, D("500.00"), 10, "New", "Low", 5, 2, 4, 23, "warm")),
    "MONEY-0999.99": ([(10, "999.99")], (1, 1, D("999.99"), 10, "New", "Low", 5, 2, 4, 23, "warm")),
    "MONEY-1000.00": ([(10, "1000.00")], (1, 1, D("1000.00"), 10, "New", "Low", 5, 2, 5, 24, "hot")),
    # Segments on both sides of 12 and 18 (23/24 are MONEY-0999.99 / MONEY-1000.00).
    "SEG-11": ([(100, "49.99")], (1, 1, D("49.99"), 100, "New", "High", 2, 2, 1, 11, "cold")),
    "SEG-12": ([(100, "50.00")], (1, 1, D("50.00"), 100, "New", "High", 2, 2, 2, 12, "cool")),
    "SEG-17": (
        [(70, "66.66"), (80, "66.66"), (85, "66.67")],
        (3, 3, D("199.99"), 70, "Casual", "High", 3, 3, 2, 17, "cool"),
    ),
    "SEG-18": (
        [(70, "66.66"), (80, "66.67"), (85, "66.67")],
        (3, 3, D("200.00"), 70, "Casual", "High", 3, 3, 3, 18, "warm"),
    ),
}

SCORED = (
    "total_visits, total_sales, lifetime_value, days_since_last_visit, vip_status, churn_risk, "
    "rfm_recency, rfm_frequency, rfm_monetary, lead_score, lead_segment"
)


def test_every_threshold_on_both_sides(shop: Shop):
    for member, (sales, _) in CASES.items():
        shop.customer(member)
        for days_ago, amount in sales:
            shop.sale(member, days_ago, amount)

    stored = {
        r[0]: tuple(r[1:]) for r in shop.conn.execute(f"select member_id, {SCORED} from public.customers")
    }
    served = {
        r[0]: tuple(r[1:])
        for r in shop.conn.execute(f"select member_id, {SCORED} from public.customer_sms_context")
    }
    wrong = {m: (stored[m], exp) for m, (_, exp) in CASES.items() if stored[m] != exp}
    assert not wrong, "stored (got, expected):\n" + "\n".join(
        f"{m}: {g} != {e}" for m, (g, e) in wrong.items()
    )
    assert served == stored
    assert_maintained_equals_rebuild(shop.conn)


def test_a_customer_without_purchases(shop: Shop):
    shop.customer("NONE", registered_on=date(2024, 1, 15))
    row = shop.customer_row("NONE")
    assert (row["total_visits"], row["total_sales"], row["total_refunds"]) == (0, 0, 0)
    assert (row["gross_sales"], row["gross_refunds"], row["lifetime_value"], row["avg_sale_value"]) == (
        0,
        0,
        0,
        None,
    )
    assert (row["first_visited"], row["last_visited"], row["days_since_last_visit"]) == (None, None, None)
    assert row["date_joined"] == date(2024, 1, 15)
    assert (row["vip_status"], row["churn_risk"]) == ("New", None)
    # No visit is the worst recency; no order the worst frequency; $0 the worst monetary.
    assert (row["rfm_recency"], row["rfm_frequency"], row["rfm_monetary"]) == (1, 1, 1)
    assert (row["lead_score"], row["lead_segment"]) == (6, "cold")
    assert row["last_scored_at"] is not None
    assert (
        shop.row("select count(*) as n from public.customer_visit_patterns where customer_id = 'NONE'")["n"]
        == 0
    )
    assert_maintained_equals_rebuild(shop.conn)


def test_refunds_reduce_value_but_are_not_visits(shop: Shop):
    shop.customer("REFUND")
    shop.sale("REFUND", 20, "100.00")
    shop.sale("REFUND", 10, "50.00")
    shop.refund("REFUND", 5, "30.00")
    row = shop.customer_row("REFUND")
    today = shop.today()
    assert (row["total_visits"], row["total_sales"], row["total_refunds"]) == (2, 2, 1)
    assert (row["gross_sales"], row["gross_refunds"], row["lifetime_value"]) == (
        D("150.00"),
        D("30.00"),
        D("120.00"),
    )
    assert row["avg_sale_value"] == D("75.00")
    # The refund five days ago is not a visit: the last visit is the sale ten days ago.
    assert (row["first_visited"], row["last_visited"]) == (today - timedelta(20), today - timedelta(10))
    assert row["days_since_last_visit"] == 10
    assert (row["rfm_recency"], row["rfm_frequency"], row["rfm_monetary"], row["lead_score"]) == (5, 2, 2, 21)

    # A refund that takes lifetime value under a monetary bound lowers the score.
    shop.customer("REFUND-M")
    shop.sale("REFUND-M", 10, "210.00")
    assert shop.customer_row("REFUND-M")["rfm_monetary"] == 3
    shop.refund("REFUND-M", 9, "20.00")
    row = shop.customer_row("REFUND-M")
    assert (row["lifetime_value"], row["rfm_monetary"], row["lead_score"]) == (D("190.00"), 2, 21)
    assert_maintained_equals_rebuild(shop.conn)


def test_voided_transactions_count_nowhere(shop: Shop):
    shop.customer("VOID")
    shop.sale("VOID", 40, "40.00", staff=("Val", "Beach"))
    shop.sale("VOID", 5, "500.00", status="voided", staff=("Val", "Beach"))
    shop.refund("VOID", 4, "40.00", status="voided", staff=("Val", "Beach"))
    row = shop.customer_row("VOID")
    assert (row["total_visits"], row["total_sales"], row["total_refunds"], row["lifetime_value"]) == (
        1,
        1,
        0,
        D("40.00"),
    )
    assert (row["days_since_last_visit"], row["churn_risk"], row["lead_score"], row["lead_segment"]) == (
        40,
        "Medium",
        17,
        "cool",
    )
    staff = shop.row("select * from public.staff where staff_name = 'Val'")
    assert (staff["total_transactions"], staff["total_refunds"], staff["total_sales"]) == (1, 0, D("40.00"))
    assert_maintained_equals_rebuild(shop.conn)


def test_same_day_purchases_are_one_visit_and_two_orders(shop: Shop):
    shop.customer("SAMEDAY")
    shop.sale("SAMEDAY", 3, "30.00", at="10:00")
    shop.sale("SAMEDAY", 3, "30.00", at="18:00")
    row = shop.customer_row("SAMEDAY")
    assert (row["total_visits"], row["total_sales"], row["avg_sale_value"]) == (1, 2, D("30.00"))
    assert (row["vip_status"], row["rfm_frequency"], row["rfm_monetary"], row["lead_score"]) == (
        "New",
        2,
        2,
        21,
    )
    patterns = shop.row("select * from public.customer_visit_patterns where customer_id = 'SAMEDAY'")
    assert patterns["total_visits"] == 1 and patterns["avg_days_between_visits"] is None
    assert_maintained_equals_rebuild(shop.conn)


def test_visit_days_are_store_local_days_around_midnight(shop: Shop):
    today = shop.today()
    # 15:00 and 23:30 on one local day fall on two UTC dates (UTC-7 or UTC-8): one visit.
    shop.customer("TZ-SAME")
    shop.sale("TZ-SAME", 3, "10", at="15:00")
    shop.sale("TZ-SAME", 3, "10", at="23:30")
    # 23:59 and 00:01 the next local day fall on one UTC date: two visits, a day apart.
    shop.customer("TZ-MIDNIGHT")
    shop.sale("TZ-MIDNIGHT", 4, "10", at="23:59")
    shop.sale("TZ-MIDNIGHT", 3, "10", at="00:01")

    utc_days = shop.row(
        """
        select
            count(distinct (date at time zone 'UTC')::date) filter (where customer_id = 'TZ-SAME') as same,
            count(distinct (date at time zone 'UTC')::date) filter (where customer_id = 'TZ-MIDNIGHT') as midnight
        from public.transactions
        """
    )
    assert (utc_days["same"], utc_days["midnight"]) == (2, 1), "the fixture straddles UTC dates as intended"

    same = shop.customer_row("TZ-SAME")
    assert (same["total_visits"], same["last_visited"], same["days_since_last_visit"]) == (
        1,
        today - timedelta(3),
        3,
    )
    midnight = shop.customer_row("TZ-MIDNIGHT")
    assert (midnight["total_visits"], midnight["first_visited"], midnight["last_visited"]) == (
        2,
        today - timedelta(4),
        today - timedelta(3),
    )
    patterns = shop.row("select * from public.customer_visit_patterns where customer_id = 'TZ-MIDNIGHT'")
    assert (
        patterns["avg_days_between_visits"],
        patterns["longest_gap_days"],
        patterns["shortest_gap_days"],
    ) == (
        D("1.00"),
        1,
        1,
    )
    assert_maintained_equals_rebuild(shop.conn)


def test_a_walk_in_sale_counts_for_staff_only(shop: Shop):
    shop.customer("REGULAR")
    shop.sale("REGULAR", 2, "40.00", staff=("Sam", "Downtown"))
    before = shop.rows("select * from public.customers order by member_id")
    shop.sale(None, 1, "25.00", staff=("Sam", "Downtown"))
    shop.sale(None, 1, "15.00", staff=("Walker", "Uptown"))
    assert shop.rows("select * from public.customers order by member_id") == before
    staff = {
        (r["staff_name"], r["shop_location"]): r
        for r in shop.rows("select * from public.staff where staff_name in ('Sam', 'Walker')")
    }
    assert staff[("Sam", "Downtown")]["total_transactions"] == 2
    assert staff[("Sam", "Downtown")]["total_sales"] == D("65.00")
    assert staff[("Sam", "Downtown")]["avg_transaction_value"] == D("32.50")
    # An unknown (staff_name, shop_location) pair gets its staff row.
    assert (
        staff[("Walker", "Uptown")]["total_transactions"],
        staff[("Walker", "Uptown")]["total_sales"],
    ) == (
        1,
        D("15.00"),
    )
    assert_maintained_equals_rebuild(shop.conn)


def test_staff_performance_by_name_and_location(shop: Shop):
    shop.customer("S1")
    shop.sale("S1", 9, "100.00", staff=("Sam", "Downtown"))
    shop.sale("S1", 8, "50.00", staff=("Sam", "Downtown"))
    shop.refund("S1", 7, "20.00", staff=("Sam", "Downtown"))
    shop.sale("S1", 6, "70.00", staff=("Sam", "Uptown"))
    shop.sale("S1", 5, "30.00", staff=("Sam", None))
    shop.sale("S1", 4, "99.00", staff=("  ", "Downtown"))
    shop.sale("S1", 3, "99.00", staff=(None, "Downtown"))
    rows = {
        (r["staff_name"], r["shop_location"]): (
            r["total_transactions"],
            r["total_refunds"],
            r["gross_sales"],
            r["gross_refunds"],
            r["total_sales"],
            r["avg_transaction_value"],
        )
        for r in shop.rows("select * from public.staff")
    }
    assert rows == {
        ("Sam", "Downtown"): (2, 1, D("150.00"), D("20.00"), D("130.00"), D("75.00")),
        ("Sam", "Uptown"): (1, 0, D("70.00"), D("0.00"), D("70.00"), D("70.00")),
        # a transaction without a location counts for the row whose location is null
        ("Sam", None): (1, 0, D("30.00"), D("0.00"), D("30.00"), D("30.00")),
        # blank and missing staff names count for nobody
    }
    assert_maintained_equals_rebuild(shop.conn)


def test_product_affinity_by_hand(shop: Shop):
    shop.customer("AFF")
    shop.sale(
        "AFF",
        40,
        "55.00",
        lines=[
            Line("SKU-A", "40.00", quantity=2, name="A old name", category="Flower"),
            Line("SKU-B", "15.00", name="B", category="Edibles"),
        ],
    )
    shop.sale("AFF", 30, "18.00", lines=[Line("SKU-A", "18.00", name="A old name", category="Flower")])
    shop.sale(
        "AFF",
        30,
        "14.00",
        at="18:00",
        lines=[Line("SKU-C", "10.00", name="C", category="Vapes"), Line(None, "4.00", name="bag")],
    )
    shop.sale("AFF", 20, "15.00", lines=[Line("SKU-B", "15.00", name="B", category="Edibles")])
    shop.sale("AFF", 10, "20.00", lines=[Line("SKU-A", "20.00", name="A new name", category="Flower")])
    shop.refund("AFF", 5, "32.00", lines=[Line("SKU-A", "-20.00"), Line("SKU-D", "-12.00")])
    shop.sale("AFF", 2, "30.00", status="voided", lines=[Line("SKU-B", "30.00", name="B")])

    rows = {
        r["product_sku"]: r
        for r in shop.rows(
            "select a.*, r.repurchase_share from public.customer_product_affinity as a"
            " inner join conductor.ranked_product_affinity as r using (customer_id, product_sku)"
            " where a.customer_id = 'AFF'"
        )
    }
    today = shop.today()
    # Visits: 40, 30, 20 and 10 days ago (the refund and the voided sale are not visits).
    # SKU-A: bought 40, 30, 10 days ago (3 sales, 4 units, $78), $20 refunded; after its first
    # purchase the customer visited 3 times and bought it again on 2 of them. Unit prices on its
    # sale lines: 20, 18, 20 (seed 000's AVG(unit_price)); $78 / 4 units = 19.50 per unit paid.
    a = rows["SKU-A"]
    assert (a["purchase_count"], a["units_purchased"], a["total_spent"], a["avg_unit_price_weighted"]) == (
        3,
        4,
        D("58.00"),
        D("19.50"),
    )
    assert abs(a["avg_price_paid"] - D(58) / 3) < D("1e-12")
    assert (a["first_purchased"], a["last_purchased"]) == (today - timedelta(40), today - timedelta(10))
    assert (a["repurchase_share"], a["repurchase_rate"], a["product_name"], a["category"]) == (
        D("0.6667"),
        1,
        "A new name",
        "Flower",
    )
    b = rows["SKU-B"]  # 40 and 20 days ago: again on 1 of the 3 later visits; the voided sale counts nowhere
    assert (
        b["purchase_count"],
        b["units_purchased"],
        b["total_spent"],
        b["repurchase_share"],
        b["repurchase_rate"],
    ) == (2, 2, D("30.00"), D("0.3333"), 1)
    c = rows["SKU-C"]  # once, 30 days ago; 2 visits since, without it
    assert (
        c["purchase_count"],
        c["total_spent"],
        c["avg_price_paid"],
        c["avg_unit_price_weighted"],
        c["repurchase_share"],
        c["repurchase_rate"],
    ) == (1, D("10.00"), D("10.00"), D("10.00"), D("0.0000"), 0)
    # Refunded but never bought: no row; a line without a sku: no row.
    assert set(rows) == {"SKU-A", "SKU-B", "SKU-C"}

    context = shop.row("select * from public.customer_sms_context where member_id = 'AFF'")
    assert [p["product_sku"] for p in context["favorite_products"]] == ["SKU-A", "SKU-B", "SKU-C"]
    assert context["favorite_category"] == "Flower"
    assert [p["transaction_id"] for p in context["recent_purchases"]] == ["TX-00005", "TX-00004", "TX-00003"]
    assert [i["product_name"] for i in context["recent_purchases"][2]["items"]] == ["C", "bag"]

    # A product bought on the customer's only visit has no later visits to repurchase on yet.
    shop.customer("AFF-ONCE")
    shop.sale("AFF-ONCE", 1, "10.00", lines=[Line("SKU-A", "10.00")])
    once = shop.row(
        "select a.*, r.repurchase_share from public.customer_product_affinity as a"
        " inner join conductor.ranked_product_affinity as r using (customer_id, product_sku)"
        " where a.customer_id = 'AFF-ONCE'"
    )
    assert once["repurchase_share"] is None and once["repurchase_rate"] == 0 and once["product_name"] is None
    assert (
        shop.row("select * from public.customer_sms_context where member_id = 'AFF-ONCE'")[
            "favorite_products"
        ][0]["product_name"]
        == "Product SKU-A"
    ), "falls back to the catalogue name"
    assert_maintained_equals_rebuild(shop.conn)


# The package's own rhythm measures (visit_regularity_score, predicted_next_visit_rounded) and the
# seed columns that agree with them; tests/metrics/test_seed_formulas.py checks seed 000's formulas.
@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [
        # visits 50, 40, 30, 10 days ago: gaps 10, 10, 20; mean 13.33; population sd 4.714;
        # CV 0.3536; score 10 x (1 - CV) = 6.46; next visit = 10 days ago + 13 = in 3 days.
        ([50, 40, 30, 10], (4, D("13.33"), D("6.46"), 3, -3, 20, 10)),
        # equal gaps: perfectly regular
        ([21, 14, 7], (3, D("7.00"), D("10.00"), 0, 0, 7, 7)),
        # gaps 1, 1, 10: mean 4, sd 4.243, CV 1.06 >= 1: score 0
        ([20, 19, 18, 8], (4, D("4.00"), D("0.00"), -4, 4, 10, 1)),
        # two visits: one gap, no regularity yet
        ([30, 20], (2, D("10.00"), None, -10, 10, 10, 10)),
        # one visit: no gap at all
        ([5], (1, None, None, None, None, None, None)),
    ],
)
def test_visit_patterns_by_hand(shop: Shop, days_ago, expected):
    shop.customer("VP")
    for n in days_ago:
        shop.sale("VP", n, "10.00")
    today = shop.today()
    row = shop.row("select * from public.customer_visit_patterns where customer_id = 'VP'")
    visits, mean, score, next_in, late, longest, shortest = expected
    predicted = None if next_in is None else today + timedelta(next_in)
    mean_gap = row["avg_days_between_visits"]
    assert (
        row["total_visits"],
        None if mean_gap is None else round(mean_gap, 2),
        row["visit_regularity_score"],
        row["predicted_next_visit_rounded"],
        row["last_visit_deviation_days"],
        row["longest_gap_days"],
        row["shortest_gap_days"],
    ) == (visits, mean, score, predicted, late, longest, shortest)
    context = shop.row("select days_late from public.customer_sms_context where member_id = 'VP'")
    assert context["days_late"] == late
    assert_maintained_equals_rebuild(shop.conn)


def test_date_joined_is_the_earlier_of_registration_and_first_visit(shop: Shop):
    today = shop.today()
    shop.customer("JOIN-LATE", registered_on=today)
    shop.sale("JOIN-LATE", 50, "10")
    assert shop.customer_row("JOIN-LATE")["date_joined"] == today - timedelta(50)
    shop.conn.execute(
        "update public.customers set registered_on = %s where member_id = 'JOIN-LATE'",
        (today - timedelta(400),),
    )
    assert shop.customer_row("JOIN-LATE")["date_joined"] == today - timedelta(400)
    assert_maintained_equals_rebuild(shop.conn)
