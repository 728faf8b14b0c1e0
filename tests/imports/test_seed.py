"""The demo-data generator: deterministic, and shaped like a real dispensary at any scale."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from conductor_dev import seed

AS_OF = date(2026, 3, 15)


@pytest.fixture(scope="module")
def small() -> seed.Dataset:
    return seed.generate(scale=0.02, seed=42, as_of=AS_OF)


def test_the_same_seed_gives_the_same_data(small) -> None:
    again = seed.generate(scale=0.02, seed=42, as_of=AS_OF)
    assert again.rows == small.rows
    assert again.messages == small.messages
    assert again.leads == small.leads
    other = seed.generate(scale=0.02, seed=7, as_of=AS_OF)
    assert other.rows["transactions"] != small.rows["transactions"]


def test_volumes_follow_the_scale(small) -> None:
    rows = small.rows
    members = [r for r in rows["customers"] if r[0] is not None]
    assert len({r[0] for r in members}) == round(seed.CUSTOMERS * 0.02)
    assert abs(len(rows["transactions"]) - seed.TRANSACTIONS * 0.02) <= 0.1 * seed.TRANSACTIONS * 0.02
    assert abs(len(rows["transaction_items"]) - seed.LINE_ITEMS * 0.02) <= 0.15 * seed.LINE_ITEMS * 0.02
    assert len(rows["staff"]) >= 9 and {r[1] for r in rows["staff"]} == {loc for loc, _ in seed.LOCATIONS}
    assert {r[4] for r in rows["products"]} == {c[0] for c in seed.CATEGORIES}


def test_the_history_looks_like_a_real_shop(small) -> None:
    tx = small.rows["transactions"]
    sales = [r for r in tx if r[7] == "sale"]
    visits = Counter(r[1] for r in sales if r[1] is not None)
    counts = sorted(visits.values())
    assert counts[len(counts) // 2] <= 5, "most customers visit a few times"
    assert sum(1 for c in counts if c >= 52) < len(counts) * 0.15, "few visit weekly"
    heavy_days = {
        member: len({r[2][:10] for r in sales if r[1] == member}) for member in small.heavy_member_ids
    }
    assert len(heavy_days) >= 2 and min(heavy_days.values()) >= 200, heavy_days
    walk_ins = sum(1 for r in sales if r[1] is None)
    assert 0.08 < walk_ins / len(sales) < 0.2
    refunds = [r for r in tx if r[7] == "refund"]
    by_id = {r[0]: r for r in tx}
    assert 0.01 < len(refunds) / len(sales) < 0.05
    for refund in refunds:
        sale = by_id[refund[9]]
        assert sale[7] == "sale" and sale[1] == refund[1] and sale[2] <= refund[2]
        assert refund[10].startswith("-")
    assert any(r[8] == "voided" for r in tx)
    # Store hours, local time, ending the evening before the load date.
    times = [r[2] for r in tx if not r[0].startswith("TXBAD")]
    assert all("09:00:00" <= t[11:] <= "22:00:00" for t in times)
    assert max(t[:10] for t in times) == (AS_OF - timedelta(days=1)).isoformat()
    # Zipf-like popularity: the top tenth of the catalogue sells well over a third of the lines.
    sold = Counter(r[2] for r in small.rows["transaction_items"])
    top = sum(n for _, n in sold.most_common(len(small.rows["products"]) // 10))
    assert top / sum(sold.values()) > 0.35


def test_phones_come_in_mixed_formats_and_some_customers_have_none(small) -> None:
    phones = [r[2] for r in small.rows["customers"] if r[0] is not None]
    assert any(p is None for p in phones)
    shapes = {p[0] if p[0] in "(+1" else "digits" for p in phones if p}
    assert len(shapes) >= 3


def test_messages_go_both_ways_and_never_wait_in_the_queue(small) -> None:
    statuses = Counter((m[3], m[4]) for m in small.messages)
    assert statuses[("inbound", "read")] and statuses[("outbound", "sent")]
    assert all(status not in ("queued", "sending") for _, status in statuses)
    assert len({m[6] for m in small.messages}) == len(small.messages), "message_hash values are unique"
    assert small.leads and len({lead[0] for lead in small.leads}) == len(small.leads)


def test_scale_one_has_the_seeds_volumes() -> None:
    full = seed.generate(scale=1, seed=42, as_of=AS_OF)
    assert abs(len(full.rows["transactions"]) - 186_000) < 186_000 * 0.03
    assert abs(len(full.rows["transaction_items"]) - 500_000) < 500_000 * 0.05
    assert len([r for r in full.rows["customers"] if r[0] is not None]) == 10_047 + 1  # one exported twice
    assert len(full.heavy_member_ids) >= 10


def test_the_seeded_database_holds_the_demo(seeded_db) -> None:
    facts = seeded_db.rows(
        """
        select
            (select count(*) from public.transactions where customer_id is null),
            (select count(*) from public.transactions as r
             join public.transactions as s on s.transaction_id = r.refunded_transaction_id
             where r.transaction_type = 'refund' and s.transaction_type = 'sale'
               and s.customer_id is not distinct from r.customer_id),
            (select count(*) from (
                select t.customer_id
                from public.transactions as t
                where t.status = 'completed' and t.transaction_type = 'sale'
                group by t.customer_id
                having count(distinct (t.date at time zone 'America/Los_Angeles')::date) >= 200) as heavy),
            (select count(*) from public.customers where phone is null),
            (select count(distinct direction) from public.messages),
            (select count(*) from public.leads),
            (select count(*) from conductor.data_issues)
        """
    )[0]
    walk_ins, linked_refunds, heavy, no_phone, directions, leads, issues = facts
    assert walk_ins > 0 and linked_refunds > 0 and heavy >= 2 and no_phone > 0
    assert directions == 2 and leads > 0 and issues > 0
