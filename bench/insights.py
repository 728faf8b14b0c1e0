"""Figure 3: the one-call customer context for the AI, by phone number.

Conductor: `select * from public.get_customer_insights(phone_number => $1)`.
Seeds: `select * from seed_baseline.customer_sms_context where phone = $1` (their view).
Both as server-side prepared statements, each on its own connection over the server's Unix
socket, for the same sample of phone numbers: random customers plus the heaviest histories.
Latency is wall time from sending the execute to having the whole result in the client
(libpq's result, every row received); turning it into Python objects is left out on every
side, since that is the client language's cost (a JSON answer and a row of typed columns
decode at different speeds in each). A prepared `select $1::text` on a third connection,
interleaved, gives the floor any call has on this machine (the round trip). Before it, the
package's per-minute job is brought up to date (untimed), as it is on a live server a minute
after the load. `growth` measures how the p99 grows from one scale to the next with both
databases measured alternately in one run, so that the machine's state is the same on both.
"""

from __future__ import annotations

import random
import time

import psycopg

from bench import package, stats

CONDUCTOR_SQL = "select * from public.get_customer_insights(phone_number => %s)"
BASELINE_SQL = "select * from seed_baseline.customer_sms_context where phone = %s"
# The floor: a prepared statement that does nothing but return its argument, on a third
# connection, interleaved with the two others (what any call costs on this machine).
FLOOR_SQL = "select %s::text"


def sample_phones(
    conn: psycopg.Connection, random_count: int, heaviest: int, seed: int = 3, copies: int = 1
) -> dict:
    """Random customers with a phone, plus the `heaviest` histories by number of transactions.

    copies: how many times the data holds each generated history (10 at 10x: the same rows
    under new keys). One customer of each is taken (every copies-th by rank), so that every
    scale samples the same histories: the 20 heaviest customers at 10x would otherwise be ten
    copies of the two heaviest histories, heavier on average than the 1x sample."""
    phones = [
        r[0]
        for r in conn.execute(
            "select phone from public.customers where phone is not null order by member_id"
        ).fetchall()
    ]
    heavy = conn.execute(
        """
        select h.phone, h.transactions
        from (
            select
                c.phone,
                count(*) as transactions,
                row_number() over (order by count(*) desc, c.phone) as rank
            from public.transactions as t
            join public.customers as c on c.member_id = t.customer_id
            where c.phone is not null
            group by c.phone
        ) as h
        where (h.rank - 1) %% %s = 0
        order by h.rank
        limit %s
        """,
        (copies, heaviest),
    ).fetchall()
    rng = random.Random(seed)
    chosen = rng.sample(phones, min(random_count, len(phones)))
    heavy_phones = [r[0] for r in heavy]
    sample = list(dict.fromkeys(chosen + heavy_phones))
    return {
        "phones": sample,
        "heaviest_transactions": heavy[0][1] if heavy else 0,
        "heaviest": heavy_phones,
        "heaviest_counts": [r[1] for r in heavy],
    }


def _timed(conn: psycopg.Connection, sql: str, phone: str) -> tuple[float, int]:
    """Milliseconds until the whole result is in the client, and its number of rows (not decoded)."""
    started = time.perf_counter()
    cur = conn.execute(sql, (phone,), prepare=True)
    rows = cur.pgresult.ntuples if cur.pgresult is not None else 0
    return (time.perf_counter() - started) * 1000, rows


def run(
    url: str, random_count: int, heaviest: int, runs: int, budget_s: float = 600.0, copies: int = 1
) -> dict:
    """p50/p99 per pass over the sample; the median of each over `runs` passes.

    A time budget bounds the figure (a slow function must not stall the whole benchmark): the
    warm-up gets a tenth of it, each pass an equal share of the rest. A pass that runs out of
    time stops early; the heaviest customers come first in every pass, so they are always in
    it, and the result says how many calls each side made."""
    with (
        psycopg.connect(url, autocommit=True) as admin,
        psycopg.connect(url, autocommit=True, prepare_threshold=0) as conductor,
        psycopg.connect(url, autocommit=True, prepare_threshold=0) as baseline,
        psycopg.connect(url, autocommit=True, prepare_threshold=0) as floor,
    ):
        package.require(admin, package.INSIGHTS)
        caught_up = package.catch_up_minute_jobs(admin)
        picked = sample_phones(admin, random_count, heaviest, copies=copies)
        phones = picked["phones"]
        heavy = set(picked["heaviest"])
        rng = random.Random(11)
        # Warm-up: prepares the statements and brings the pages in, as a live server has.
        empty = 0
        warmed = 0
        deadline = time.perf_counter() + budget_s / 10
        for phone in phones:
            if time.perf_counter() > deadline:
                break
            _, n = _timed(conductor, CONDUCTOR_SQL, phone)
            empty += n == 0
            _timed(baseline, BASELINE_SQL, phone)
            warmed += 1
        passes: dict[str, list[list[float]]] = {"conductor": [], "baseline": [], "floor": []}
        heavy_samples: dict[str, list[float]] = {"conductor": [], "baseline": []}
        per_pass = budget_s * 0.9 / runs
        complete = True
        for _ in range(runs):
            rest = [p for p in phones if p not in heavy]
            rng.shuffle(rest)
            order = [p for p in phones if p in heavy] + rest
            c_pass, b_pass, f_pass = [], [], []
            deadline = time.perf_counter() + per_pass
            for phone in order:
                if time.perf_counter() > deadline:
                    complete = False
                    break
                c_ms, _ = _timed(conductor, CONDUCTOR_SQL, phone)
                b_ms, _ = _timed(baseline, BASELINE_SQL, phone)
                f_ms, _ = _timed(floor, FLOOR_SQL, phone)
                c_pass.append(c_ms)
                b_pass.append(b_ms)
                f_pass.append(f_ms)
                if phone in heavy:
                    heavy_samples["conductor"].append(c_ms)
                    heavy_samples["baseline"].append(b_ms)
            passes["conductor"].append(c_pass)
            passes["baseline"].append(b_pass)
            passes["floor"].append(f_pass)
    result: dict = {
        "sample": len(phones),
        "heaviest_count": len(heavy),
        "heaviest_transactions": picked["heaviest_transactions"],
        "heaviest_counts": picked["heaviest_counts"],
        "copies": copies,
        "runs": runs,
        "warmed_up": warmed,
        "calls_per_pass": [len(c) for c in passes["conductor"]],
        "complete": complete,
        "budget_s": budget_s,
        "conductor_empty_results": empty,
        "caught_up": caught_up,
    }
    for side, chunks in passes.items():
        result[side] = {
            "p50_ms": stats.median([stats.percentile(c, 50) for c in chunks]),
            "p99_ms": stats.median([stats.percentile(c, 99) for c in chunks]),
            "max_ms": max(max(c) for c in chunks),
            "heaviest_p50_ms": stats.percentile(heavy_samples[side], 50) if heavy_samples.get(side) else None,
        }
    return result


def growth(
    first_url: str,
    scaled_url: str,
    random_count: int,
    heaviest: int,
    runs: int,
    budget_s: float,
    first_copies: int = 1,
    scaled_copies: int = 1,
) -> dict:
    """How the p99 grows with volume, measured so that only the volume differs: the same call on
    the first scale's database (a copy taken right after its figure 3) and on the larger one,
    interleaved call by call (which side goes first alternates), so that both see the machine in
    the same state. Each pass is a shuffled sample of each database (random customers plus the
    heaviest, as in `run`); returns every pass's p99 on both sides and their ratio."""
    with (
        psycopg.connect(first_url, autocommit=True) as first_admin,
        psycopg.connect(scaled_url, autocommit=True) as scaled_admin,
        psycopg.connect(first_url, autocommit=True, prepare_threshold=0) as first,
        psycopg.connect(scaled_url, autocommit=True, prepare_threshold=0) as scaled,
    ):
        package.require(first_admin, package.INSIGHTS)
        package.require(scaled_admin, package.INSIGHTS)
        package.catch_up_minute_jobs(first_admin)
        package.catch_up_minute_jobs(scaled_admin)
        first_picked = sample_phones(first_admin, random_count, heaviest, copies=first_copies)
        scaled_picked = sample_phones(scaled_admin, random_count, heaviest, copies=scaled_copies)
        first_phones = first_picked["phones"]
        scaled_phones = scaled_picked["phones"]
        calls = max(len(first_phones), len(scaled_phones))
        rng = random.Random(13)
        deadline = time.perf_counter() + budget_s / 10
        for k in range(calls):
            if time.perf_counter() > deadline:
                break
            _timed(first, CONDUCTOR_SQL, first_phones[k % len(first_phones)])
            _timed(scaled, CONDUCTOR_SQL, scaled_phones[k % len(scaled_phones)])
        passes = []
        per_pass = budget_s * 0.9 / runs
        complete = True
        for _ in range(runs):
            a = rng.sample(first_phones, len(first_phones))
            b = rng.sample(scaled_phones, len(scaled_phones))
            first_ms: list[float] = []
            scaled_ms: list[float] = []
            deadline = time.perf_counter() + per_pass
            for k in range(calls):
                if time.perf_counter() > deadline:
                    complete = False
                    break
                if k % 2 == 0:
                    first_ms.append(_timed(first, CONDUCTOR_SQL, a[k % len(a)])[0])
                    scaled_ms.append(_timed(scaled, CONDUCTOR_SQL, b[k % len(b)])[0])
                else:
                    scaled_ms.append(_timed(scaled, CONDUCTOR_SQL, b[k % len(b)])[0])
                    first_ms.append(_timed(first, CONDUCTOR_SQL, a[k % len(a)])[0])
            if not first_ms or not scaled_ms:
                break  # the budget ran out before this pass began
            p99_first = stats.percentile(first_ms, 99)
            p99_scaled = stats.percentile(scaled_ms, 99)
            passes.append(
                {
                    "calls": len(first_ms),
                    "first_p99_ms": p99_first,
                    "scaled_p99_ms": p99_scaled,
                    "ratio": stats.ratio(p99_scaled, p99_first),
                }
            )
    ratios = [p["ratio"] for p in passes if p["ratio"] is not None]
    return {
        "first_sample": len(first_phones),
        "scaled_sample": len(scaled_phones),
        "first_heaviest_counts": first_picked["heaviest_counts"],
        "scaled_heaviest_counts": scaled_picked["heaviest_counts"],
        "runs": runs,
        "complete": complete,
        "passes": passes,
        "median_ratio": stats.median(ratios) if ratios else None,
        "max_ratio": max(ratios) if ratios else None,
    }
