"""Probabilistic lifetime value in the database: the BG/NBD and Gamma-Gamma fits reproduce the
published CDNOW estimates, the paper's worked example, a fit that does not converge keeps the
previous parameters, and a seeded database gets per-customer values after the nightly fit."""

from __future__ import annotations

import math
from pathlib import Path

import psycopg
import pytest

CDNOW = Path(__file__).resolve().parents[1] / "fixtures" / "cdnow_customers_summary_with_transactions.csv"

# Fader, Hardie and Lee (2005), table of estimates for the CDNOW sample (weeks).
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def load_cdnow(conn: psycopg.Connection) -> None:
    conn.execute("create temporary table cdnow (id int, x int, t_x float8, t_cal float8, zbar float8)")
    with conn.cursor().copy("copy cdnow from stdin with (format csv, header true)") as copy:
        copy.write(CDNOW.read_bytes())


def test_cdnow_bgnbd_fit_reproduces_the_papers_parameters(db):
    with db.connect(autocommit=False) as conn:
        load_cdnow(conn)
        assert conn.execute("select count(*) from cdnow").fetchone()[0] == 2357
        conn.execute(
            "create temporary table clv_bgnbd_data as"
            " select x, t_x, t_cal, count(*)::int as n from cdnow group by 1, 2, 3"
        )
        params, ll, converged = conn.execute(
            "select parameters, log_likelihood, converged from conductor.fit_bgnbd()"
        ).fetchone()
        assert converged
        fitted = dict(zip(("r", "alpha", "a", "b"), params, strict=True))
        # To three significant figures, and to the paper's three decimals.
        assert {k: significant(v) for k, v in fitted.items()} == {
            k: significant(v) for k, v in PAPER_BGNBD.items()
        }
        assert {k: round(v, 3) for k, v in fitted.items()} == PAPER_BGNBD
        # The published maximum of the log-likelihood is -9582.4.
        assert ll == pytest.approx(-9582.43, abs=0.05)


def test_the_papers_worked_example(db):
    # Customer 1 of the CDNOW sample, x = 2, t_x = 30.43, T = 38.86 weeks, the paper's parameters.
    p_alive, expected_39 = db.rows(
        "select conductor.bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86),"
        " conductor.bgnbd_expected_visits(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 39)"
    )[0]
    assert round(p_alive, 4) == 0.7266
    # E[Y(39) | 2, 30.43, 38.86] = 1.226 (the paper's figure for this customer).
    assert expected_39 == pytest.approx(1.226, abs=0.0005)
    # A customer without repeat visits is alive by the model's construction.
    assert db.scalar("select conductor.bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, 0, 0, 38.86)") == 1


def test_cdnow_gamma_gamma_fit_reproduces_the_published_values(db):
    with db.connect(autocommit=False) as conn:
        load_cdnow(conn)
        conn.execute(
            "create temporary table clv_gg_data as"
            " select x, zbar as m, count(*)::int as n from cdnow where x > 0 group by 1, 2"
        )
        assert conn.execute("select sum(n) from clv_gg_data").fetchone()[0] == 946
        params, converged = conn.execute(
            "select parameters, converged from conductor.fit_gamma_gamma()"
        ).fetchone()
        assert converged
        p, q, gamma = params
        assert (significant(p), significant(q), round(gamma, 1)) == (6.25, 3.74, 15.4)
        assert gamma == pytest.approx(15.44, abs=0.01)
        # Customer 1: x = 2 repeat purchases of mean $22.35 -> conditional expected spend.
        spend = conn.execute(
            "select conductor.gamma_gamma_expected_spend(%s, %s, %s, 2, 22.35)", (p, q, gamma)
        ).fetchone()[0]
        assert spend == pytest.approx(p * (gamma + 2 * 22.35) / (p * 2 + q - 1))
        assert 22.35 < spend < p * gamma / (q - 1)


def test_special_functions_against_closed_forms(db):
    for x in (0.1, 0.5, 1, 2.5, 7.3, 50, 171.5, -0.5, -2.25):
        assert db.scalar("select conductor.ln_gamma(%s)", (x,)) == pytest.approx(
            math.lgamma(x), rel=1e-13, abs=1e-13
        )
    # 2F1(1, 1; 2; z) = -ln(1 - z) / z; 2F1(a, b; b; z) = (1 - z)^-a.
    for z in (0.01, 0.5, 0.9, 0.99):
        assert db.scalar("select conductor.hyp2f1(1, 1, 2, %s)", (z,)) == pytest.approx(
            -math.log(1 - z) / z, rel=1e-12
        )
        assert db.scalar("select conductor.hyp2f1(0.7, 3, 3, %s)", (z,)) == pytest.approx(
            (1 - z) ** -0.7, rel=1e-12
        )
    with pytest.raises(psycopg.errors.NumericValueOutOfRange, match="z must satisfy"):
        db.scalar("select conductor.hyp2f1(1, 1, 2, 1)")


def test_a_seeded_database_gets_per_customer_values_after_the_fit(seeded_db):
    seeded_db.scalar("select conductor.refresh_customer_context()")
    result = seeded_db.scalar("select conductor.fit_lifetime_value_models()")
    assert result["ran"] and result["bgnbd"]["accepted"] and result["gamma_gamma"]["accepted"], result
    with_visits = seeded_db.scalar("select count(*) from public.customers where total_visits > 0")
    assert with_visits > 0
    assert seeded_db.scalar("select count(*) from public.customer_lifetime_value") == with_visits
    bad = seeded_db.scalar(
        """
        select count(*) from public.customer_lifetime_value as l
        join public.customers as c on c.member_id = l.customer_id
        where l.frequency <> c.total_visits - 1
           or l.recency_days <> c.last_visited - c.first_visited
           or l.age_days <> conductor.store_today() - c.first_visited
           or l.p_alive is null or l.p_alive not between 0 and 1
           or l.expected_visits_30d is null or l.expected_visits_30d < 0
           or l.expected_visits_90d < l.expected_visits_30d
           or l.expected_visits_365d < l.expected_visits_90d
           or l.expected_spend_per_visit is null or l.expected_spend_per_visit <= 0
           or abs(l.expected_value_12m - l.expected_visits_365d * l.expected_spend_per_visit)
              > 0.01 + 0.00005 * l.expected_spend_per_visit + 0.005 * l.expected_visits_365d
        """
    )
    assert bad == 0
    # The ready AI context shows the new values: every customer with them was marked stale.
    assert (
        seeded_db.scalar(
            """
        select count(*) from public.customer_lifetime_value as l
        join conductor.customer_context as x on x.customer_id = l.customer_id
        where x.built_version = x.version
        """
        )
        == 0
    )
    # The stored values are the model's formulas at the recorded fit.
    row = seeded_db.rows(
        """
        select l.p_alive, f.parameters, l.frequency, l.recency_days, l.age_days, l.expected_visits_90d
        from public.customer_lifetime_value as l
        join conductor.lifetime_value_fits as f on f.id = l.bgnbd_fit_id
        where l.frequency >= 2 order by l.p_alive desc, l.customer_id limit 1
        """
    )[0]
    p_alive, params, x, t_x, t_cal, visits_90 = row
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    expected_p = 1 / (1 + a / (b + x - 1) * ((alpha + t_cal) / (alpha + t_x)) ** (r + x))
    assert float(p_alive) == pytest.approx(expected_p, abs=1e-6)
    assert float(visits_90) > 0
    # A second run the same day with p_only_if_stale does nothing.
    again = seeded_db.scalar("select conductor.fit_lifetime_value_models(p_only_if_stale => true)")
    assert again["ran"] is False and "already fitted" in again["reason"]


IN_USE = (
    "select m.model, p.fit_id, p.parameters from (values ('bgnbd'), ('gamma_gamma')) as m (model),"
    " lateral conductor.lifetime_value_parameters(m.model) as p order by m.model"
)


def test_a_fit_that_does_not_converge_keeps_the_previous_parameters(seeded_db):
    first = seeded_db.scalar("select conductor.fit_lifetime_value_models()")
    assert first["bgnbd"]["accepted"]
    before = seeded_db.rows(IN_USE)
    assert all(fit_id is not None for _, fit_id, _ in before)
    values_before = seeded_db.rows(
        "select customer_id, p_alive, bgnbd_fit_id from public.customer_lifetime_value order by 1"
    )
    second = seeded_db.scalar("select conductor.fit_lifetime_value_models(p_max_iterations => 2)")
    assert second["bgnbd"]["accepted"] is False
    assert second["gamma_gamma"]["accepted"] is False
    latest = seeded_db.rows(
        "select model, converged, accepted, reason, iterations from conductor.lifetime_value_fits"
        " where id in (select max(id) from conductor.lifetime_value_fits group by model) order by model"
    )
    for model, converged, accepted, reason, iterations in latest:
        assert (converged, accepted, iterations) == (False, False, 2), model
        assert reason.startswith("no convergence in 2 iterations"), reason
    after = seeded_db.rows(IN_USE)
    assert after == before
    assert (
        seeded_db.rows(
            "select customer_id, p_alive, bgnbd_fit_id from public.customer_lifetime_value order by 1"
        )
        == values_before
    )


def test_the_nightly_job_is_scheduled_and_says_why_it_cannot_fit_a_store_without_repeat_visits(cron_db):
    job = cron_db.rows(
        "select schedule, command from cron.job where jobname = 'conductor_fit_lifetime_value_models'"
    )
    assert job == [("45 * * * *", "select conductor.fit_lifetime_value_models(p_only_if_stale => true)")]
    with cron_db.connect(autocommit=False) as conn:
        # Forced: pg_cron itself may already have run the job today in this database.
        result = conn.execute("select conductor.fit_lifetime_value_models()").fetchone()[0]
        assert result["ran"], result
        repeaters = conn.execute("select count(*) from public.customers where total_visits >= 2").fetchone()[
            0
        ]
        if repeaters < 10:  # the cron database normally holds no sales
            assert result["bgnbd"]["accepted"] is False
            assert result["bgnbd"]["reason"].startswith("too few customers"), result
        else:
            assert result["bgnbd"]["reason"] in (
                "converged",
                "a = 1: the expected-visits formula is undefined",
            )
        conn.rollback()
