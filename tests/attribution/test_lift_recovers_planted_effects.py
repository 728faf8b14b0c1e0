"""The lift report's intervals mean what they say, on generated histories whose true lift is known.

Each simulated campaign texts the same pool of 1,000 customers with a holdout share of 0.5, drawn by
the package's own hash (recomputed here in Python, which proves the draw is reproducible outside
the database). Campaign k goes out on day 10k, so every campaign's 7-day window sees only its own
sales. A recipient visits with probability 0.10 when held out; when texted, with 0.10 (100 null
campaigns) or 0.16 (100 campaigns with a planted lift of 6 points). A visit spends a uniform
$20-$120, so the planted revenue lift per recipient is 0.06 x $70 = $4.20.

Seeds are fixed, so the outcome is the same on every run; the bounds are chosen so that they would
hold for almost any seed (each is at least 3.5 binomial standard deviations from its expectation):
- null campaigns: a 95% interval excludes 0 with probability about 0.05, so about 5 of 100 get a
  positive or negative verdict; more than 13 would happen with probability below 0.001.
- planted campaigns: the true lift lies inside the 95% interval in about 95 of 100; fewer than 86
  has probability about 1e-4. With about 500 per group the power to call +6 points positive is
  about 0.8, so fewer than 60 positives has probability below 1e-5, and a negative verdict (the
  interval entirely below 0, 4 standard errors off) essentially never happens.
- the mean of 100 estimates has a standard error of about 0.002 (conversion) and $0.17 (revenue),
  so it lies within 0.012 and $1.00 of the truth.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import _clone

POOL = 1000
CAMPAIGNS = 100  # of each kind
BASE_RATE = 0.10
PLANTED_LIFT = 0.06
MEAN_SPEND = 70.0  # uniform 20-120
START = datetime(2019, 1, 1, 15, 0, tzinfo=UTC)


def holdout_fraction(campaign: str, batch: str | None, phone: str) -> float:
    digest = hashlib.sha256(f"{campaign}\x1f{batch or ''}\x1f{phone}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def phone(i: int) -> str:
    return f"+1619700{i:04d}"


@pytest.fixture(scope="module")
def simulated_db(pg_cluster, template_db):
    """One clone for the module: the simulation is the slow part and every test reads it."""
    yield from _clone(pg_cluster, template_db.name, "attribution")


@pytest.fixture(scope="module")
def simulated(simulated_db):
    db = simulated_db
    campaigns = [(f"null-{k:03d}", 0.0) for k in range(CAMPAIGNS)] + [
        (f"lift-{k:03d}", PLANTED_LIFT) for k in range(CAMPAIGNS)
    ]
    with db.connect() as conn:
        conn.execute("update conductor.settings set value = '\"UTC\"' where key = 'store_time_zone'")
        with conn.cursor().copy("copy public.customers (member_id, name, phone) from stdin") as copy:
            for i in range(POOL):
                copy.write_row((f"SIM-{i}", f"Sim {i}", phone(i)))
        with conn.cursor().copy(
            "copy public.campaign_holdouts (campaign_name, holdout_share) from stdin"
        ) as copy:
            for name, _ in campaigns:
                copy.write_row((name, "0.5"))
        # The draw in Python equals the database's.
        for name, _ in campaigns[:3] + campaigns[-3:]:
            for i in (0, 1, 999):
                fraction = conn.execute(
                    "select conductor.holdout_fraction(%s, null, %s)", (name, phone(i))
                ).fetchone()[0]
                assert fraction == pytest.approx(holdout_fraction(name, None, phone(i)), abs=1e-15)

        rows, sales = [], []
        for k, (name, lift) in enumerate(campaigns):
            rng = random.Random(k)
            at = START + timedelta(days=10 * k)
            for i in range(POOL):
                held_out = holdout_fraction(name, None, phone(i)) < 0.5
                rows.append((f"SIM-{i}", phone(i), "Deals", at, at, "held_out" if held_out else "sent", name))
                if rng.random() < BASE_RATE + (0 if held_out else lift):
                    when = at + timedelta(seconds=rng.uniform(0, 6.9 * 86400))
                    sales.append((f"SIM-{k}-{i}", f"SIM-{i}", when, f"{rng.uniform(20, 120):.2f}"))
        with conn.cursor().copy(
            "copy public.scheduled_messages (customer_id, phone_number, message_content, scheduled_send_time,"
            " dispatched_at, status, campaign_name) from stdin"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        with conn.cursor().copy(
            "copy public.transactions (transaction_id, customer_id, date, total_amount) from stdin"
        ) as copy:
            for sale in sales:
                copy.write_row(sale)
        results = conn.execute(
            "select campaign_name, texted, held_out, held_out_conversion_rate, conversion_lift,"
            " conversion_lift_lower, conversion_lift_upper, revenue_lift, revenue_lift_lower,"
            " revenue_lift_upper, verdict, revenue_verdict from public.campaign_lift()"
        ).fetchall()
    by_kind: dict[str, list[tuple]] = {"null": [], "lift": []}
    for row in results:
        by_kind[row[0].split("-")[0]].append(row)
    assert len(by_kind["null"]) == CAMPAIGNS and len(by_kind["lift"]) == CAMPAIGNS
    return by_kind


def test_groups_are_the_hash_draw_and_large_enough(simulated) -> None:
    for name, texted, held_out, *_ in simulated["null"] + simulated["lift"]:
        assert texted + held_out == POOL
        expected = sum(holdout_fraction(name, None, phone(i)) < 0.5 for i in range(POOL))
        assert held_out == expected
        assert 400 < held_out < 600  # 0.5 of 1,000: 6 standard deviations either way


def test_a_null_effect_is_rarely_called(simulated) -> None:
    rows = simulated["null"]
    called = [r for r in rows if r[10] in ("positive", "negative")]
    revenue_called = [r for r in rows if r[11] in ("positive", "negative")]
    assert all(r[10] in ("positive", "negative", "no_detectable_effect") for r in rows)
    assert len(called) <= 13, f"{len(called)} of {len(rows)} null campaigns got a conversion verdict"
    assert len(revenue_called) <= 13, (
        f"{len(revenue_called)} of {len(rows)} null campaigns got a revenue verdict"
    )
    mean_lift = sum(float(r[4]) for r in rows) / len(rows)
    assert abs(mean_lift) < 0.012
    mean_control = sum(float(r[3]) for r in rows) / len(rows)
    assert abs(mean_control - BASE_RATE) < 0.01


def test_a_planted_effect_is_recovered_within_its_interval(simulated) -> None:
    rows = simulated["lift"]
    covered = sum(float(r[5]) <= PLANTED_LIFT <= float(r[6]) for r in rows)
    assert covered >= 86, f"the true conversion lift lies in {covered} of {len(rows)} intervals"
    true_revenue_lift = PLANTED_LIFT * MEAN_SPEND
    revenue_covered = sum(float(r[8]) <= true_revenue_lift <= float(r[9]) for r in rows)
    assert revenue_covered >= 86, f"the true revenue lift lies in {revenue_covered} of {len(rows)} intervals"
    positives = sum(r[10] == "positive" for r in rows)
    assert positives >= 60, f"only {positives} of {len(rows)} planted lifts were called positive"
    assert not any(r[10] == "negative" for r in rows)
    mean_lift = sum(float(r[4]) for r in rows) / len(rows)
    assert abs(mean_lift - PLANTED_LIFT) < 0.012
    mean_revenue_lift = sum(float(r[7]) for r in rows) / len(rows)
    assert abs(mean_revenue_lift - true_revenue_lift) < 1.0
