"""Figure 7: the lifetime-value models fitted in the database, what a fit costs and how well they
predict on the demo data.

Cost, at each scale, on the loaded database: conductor.fit_lifetime_value_models() from no earlier
fit (cold: a neutral starting point) and again (warm: from the previous parameters, as the nightly
job runs), each in its own transaction; the time of each model's fit as recorded in
conductor.lifetime_value_fits, and the rest (reading the customers, writing
public.customer_lifetime_value).

Accuracy, at the first scale: the demo history is split at HOLDOUT_DAYS before its last day. The
BG/NBD model is fitted on the calibration period only (conductor.lifetime_value_prepare for that
day, conductor.fit_bgnbd) and predicts each calibration customer's visits in the holdout
(conductor.bgnbd_expected_visits); the actual visits are the store-local days with a completed sale
in the holdout. Baselines, computed from the same calibration data:
- seed 000's rhythm: predicted_next_visit = last visit + mean gap (the fraction truncated), then
  one visit every mean gap through the holdout; a customer already past that date at the split
  (overdue) and a one-visit customer (no rhythm) are predicted 0;
- the plain rate: repeat visits / age x holdout days;
- seed 004's churn buckets (Low / Medium / High by days since the last visit, conductor.churn_levels):
  their return rates, and the AUC of the buckets as a ranking of who returns.
Reported: mean absolute error per customer overall and by calibration frequency, the total
predicted against the actual, and the AUC of "returns in the holdout" for P(alive), the BG/NBD
expected visits, days since the last visit and the churn buckets.
"""

from __future__ import annotations

import math
import time

import psycopg

HOLDOUT_DAYS = 182
GROUPS = (
    (0, 0, "1 visit (x = 0)"),
    (1, 1, "2 visits"),
    (2, 3, "3-4 visits"),
    (4, 9, "5-10 visits"),
    (10, None, "11+ visits"),
)


def _fit_cost(conn: psycopg.Connection) -> dict:
    conn.execute("delete from conductor.lifetime_value_fits")
    out = {}
    for kind in ("cold", "warm"):
        started = time.perf_counter()
        result = conn.execute("select conductor.fit_lifetime_value_models()").fetchone()[0]
        total = time.perf_counter() - started
        fits = dict(
            conn.execute(
                "select model, duration_ms from conductor.lifetime_value_fits"
                " where id in (select max(id) from conductor.lifetime_value_fits group by model)"
            ).fetchall()
        )
        rows = conn.execute(
            "select model, iterations, evaluations, groups, customers, converged"
            " from conductor.lifetime_value_fits"
            " where id in (select max(id) from conductor.lifetime_value_fits group by model)"
        ).fetchall()
        out[kind] = {
            "seconds": total,
            "bgnbd_ms": fits.get("bgnbd"),
            "gamma_gamma_ms": fits.get("gamma_gamma"),
            "rest_ms": 1000 * total - sum(v or 0 for v in fits.values()),
            "result": result,
            "fits": {
                m: {"iterations": i, "evaluations": e, "groups": g, "customers": c, "converged": ok}
                for m, i, e, g, c, ok in rows
            },
        }
    out["parameters"] = dict(
        conn.execute(
            "select m.model, p.parameters from (values ('bgnbd'), ('gamma_gamma')) as m (model),"
            " lateral conductor.lifetime_value_parameters(m.model) as p"
        ).fetchall()
    )
    return out


def _auc(scores: list[float], positives: list[bool]) -> float | None:
    """Probability that a random returning customer scores above a random non-returning one (ties 1/2)."""
    pairs = sorted(zip(scores, positives, strict=True))
    n_pos = sum(positives)
    n_neg = len(positives) - n_pos
    if not n_pos or not n_neg:
        return None
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _accuracy(conn: psycopg.Connection) -> dict:
    last_day, tz = conn.execute(
        "select max((t.date at time zone conductor.store_time_zone())::date), conductor.store_time_zone()"
        " from public.transactions as t where t.status = 'completed' and t.transaction_type = 'sale'"
    ).fetchone()
    split = conn.execute("select %s::date - %s", (last_day, HOLDOUT_DAYS)).fetchone()[0]
    conn.execute("select conductor.lifetime_value_prepare(%s)", (split,))
    started = time.perf_counter()
    params, ll, iterations, converged = conn.execute(
        "select parameters, log_likelihood, iterations, converged from conductor.fit_bgnbd()"
    ).fetchone()
    fit_seconds = time.perf_counter() - started
    r, alpha, a, b = params
    levels = conn.execute("select level, min_days from conductor.churn_levels order by min_days").fetchall()
    rows = conn.execute(
        """
        select
            c.x, c.t_x, c.t_cal,
            conductor.bgnbd_p_alive(%(r)s, %(alpha)s, %(a)s, %(b)s, c.x, c.t_x, c.t_cal),
            conductor.bgnbd_expected_visits(%(r)s, %(alpha)s, %(a)s, %(b)s, c.x, c.t_x, c.t_cal, %(h)s),
            coalesce(h.visits, 0)
        from pg_temp.clv_customers as c
        left join (
            select t.customer_id, count(distinct (t.date at time zone %(tz)s)::date) as visits
            from public.transactions as t
            where t.status = 'completed' and t.transaction_type = 'sale'
              and t.date >= ((%(split)s::date + 1)::timestamp at time zone %(tz)s)
              and t.date < ((%(split)s::date + 1 + %(h)s)::timestamp at time zone %(tz)s)
            group by t.customer_id
        ) as h on h.customer_id = c.customer_id
        """,
        {"r": r, "alpha": alpha, "a": a, "b": b, "h": HOLDOUT_DAYS, "tz": tz, "split": split},
    ).fetchall()
    conn.rollback()

    def rhythm(x: int, t_x: float, t_cal: float) -> float:
        if x == 0:
            return 0.0
        gap = t_x / x
        first = math.floor(t_x + gap) - t_cal  # days after the split (seed 000: fraction truncated)
        if first < 1 or first > HOLDOUT_DAYS:
            return 0.0
        return 1 + math.floor((HOLDOUT_DAYS - first) / gap) if gap > 0 else 1.0

    def bucket(days_since: float) -> str:
        level = levels[0][0]
        for name, min_days in levels:
            if days_since >= min_days:
                level = name
        return level

    customers = []
    for x, t_x, t_cal, p_alive, expected, actual in rows:
        customers.append(
            {
                "x": x,
                "days_since": t_cal - t_x,
                "p_alive": p_alive,
                "bgnbd": expected,
                "rhythm": rhythm(x, t_x, t_cal),
                "rate": x / t_cal * HOLDOUT_DAYS if t_cal > 0 else 0.0,
                "bucket": bucket(t_cal - t_x),
                "actual": actual,
            }
        )

    def mae(group: list[dict], key: str) -> float:
        return sum(abs(c[key] - c["actual"]) for c in group) / len(group) if group else float("nan")

    by_group = []
    for low, high, label in GROUPS:
        group = [c for c in customers if c["x"] >= low and (high is None or c["x"] <= high)]
        by_group.append(
            {
                "label": label,
                "customers": len(group),
                "actual_mean": sum(c["actual"] for c in group) / len(group) if group else float("nan"),
                "bgnbd_mean": sum(c["bgnbd"] for c in group) / len(group) if group else float("nan"),
                "bgnbd_mae": mae(group, "bgnbd"),
                "rhythm_mae": mae(group, "rhythm"),
                "rate_mae": mae(group, "rate"),
            }
        )
    returned = [c["actual"] > 0 for c in customers]
    order = {name: i for i, (name, _) in enumerate(levels)}
    repeaters = [c for c in customers if c["x"] > 0]
    returned_rep = [c["actual"] > 0 for c in repeaters]
    buckets = []
    for name, _ in levels:
        group = [c for c in customers if c["bucket"] == name]
        buckets.append(
            {
                "level": name,
                "customers": len(group),
                "returned_share": sum(c["actual"] > 0 for c in group) / len(group) if group else float("nan"),
                # one-visit customers have P(alive) = 1 by construction: the mean is over repeat customers
                "p_alive_mean": (
                    sum(c["p_alive"] for c in group if c["x"] > 0) / sum(1 for c in group if c["x"] > 0)
                    if any(c["x"] > 0 for c in group)
                    else float("nan")
                ),
                "actual_mean": sum(c["actual"] for c in group) / len(group) if group else float("nan"),
                "bgnbd_mean": sum(c["bgnbd"] for c in group) / len(group) if group else float("nan"),
            }
        )
    return {
        "split_day": str(split),
        "holdout_days": HOLDOUT_DAYS,
        "customers": len(customers),
        "fit": {
            "parameters": params,
            "log_likelihood": ll,
            "iterations": iterations,
            "converged": converged,
            "seconds": fit_seconds,
        },
        "mae": {
            "bgnbd": mae(customers, "bgnbd"),
            "rhythm": mae(customers, "rhythm"),
            "rate": mae(customers, "rate"),
        },
        "totals": {
            "actual": sum(c["actual"] for c in customers),
            "bgnbd": sum(c["bgnbd"] for c in customers),
            "rhythm": sum(c["rhythm"] for c in customers),
            "rate": sum(c["rate"] for c in customers),
        },
        "by_frequency": by_group,
        "churn_buckets": buckets,
        "auc_all": {
            "bgnbd_expected_visits": _auc([c["bgnbd"] for c in customers], returned),
            "days_since_last_visit": _auc([-c["days_since"] for c in customers], returned),
            "churn_buckets": _auc([-order[c["bucket"]] for c in customers], returned),
        },
        "auc_repeaters": {
            "p_alive": _auc([c["p_alive"] for c in repeaters], returned_rep),
            "bgnbd_expected_visits": _auc([c["bgnbd"] for c in repeaters], returned_rep),
            "days_since_last_visit": _auc([-c["days_since"] for c in repeaters], returned_rep),
            "churn_buckets": _auc([-order[c["bucket"]] for c in repeaters], returned_rep),
        },
    }


def run(url: str, accuracy: bool) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        out = {"cost": _fit_cost(conn)}
    if accuracy:
        with psycopg.connect(url) as conn:
            conn.execute("set jit = off")
            out["accuracy"] = _accuracy(conn)
    return out


def _f(value: float | None, digits: int = 3) -> str:
    return (
        "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"
    )


def _percent(share: float) -> str:
    return "n/a" if math.isnan(share) else f"{100 * share:.1f} %"


def markdown(scales: list[dict]) -> str:
    """The figure's lines for the report (empty when it was not run)."""
    measured = [(s["label"], s.get("lifetime_value")) for s in scales if s.get("lifetime_value")]
    if not measured:
        return ""
    out = ["Figure 7, lifetime value fitted in the database (BG/NBD and Gamma-Gamma, days):", ""]
    out += [
        "| scale | run | whole fit | BG/NBD fit | Gamma-Gamma fit | the rest (read, write per-customer rows) "
        "| BG/NBD groups |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, result in measured:
        if "error" in result:
            out.append(f"| {label} | not measured: {result['error']} | | | | | |")
            continue
        for kind in ("cold", "warm"):
            c = result["cost"][kind]
            groups = c["fits"].get("bgnbd", {}).get("groups")
            out.append(
                f"| {label} | {kind} | {c['seconds']:.2f} s | {_f((c['bgnbd_ms'] or 0) / 1000, 2)} s"
                f" ({c['fits'].get('bgnbd', {}).get('evaluations')} evaluations) | "
                f"{_f((c['gamma_gamma_ms'] or 0) / 1000, 2)} s | {c['rest_ms'] / 1000:.2f} s | {groups} |"
            )
    out += ["", "Targets: a nightly fit under 5 s at seed scale and under 30 s at 10x (not asserted).", ""]
    for label, result in measured:
        acc = result.get("accuracy") if "error" not in result else None
        if not acc:
            continue
        out += [
            f"Accuracy at {label}: calibration up to {acc['split_day']}, holdout {acc['holdout_days']} days, "
            f"{acc['customers']:,} customers; visits predicted per customer against the actual "
            f"(total actual {acc['totals']['actual']:,}, BG/NBD {acc['totals']['bgnbd']:,.0f}, "
            f"seed 000 rhythm {acc['totals']['rhythm']:,.0f}, rate {acc['totals']['rate']:,.0f}).",
            "",
            "| calibration frequency | customers | actual mean | BG/NBD mean | MAE BG/NBD "
            "| MAE seed 000 rhythm | MAE rate |",
            "|---|---|---|---|---|---|---|",
        ]
        for g in acc["by_frequency"]:
            out.append(
                f"| {g['label']} | {g['customers']:,} | {_f(g['actual_mean'], 2)} | "
                f"{_f(g['bgnbd_mean'], 2)} | {_f(g['bgnbd_mae'], 2)} | {_f(g['rhythm_mae'], 2)} | "
                f"{_f(g['rate_mae'], 2)} |"
            )
        out.append(
            f"| all | {acc['customers']:,} | | | {_f(acc['mae']['bgnbd'], 2)} | "
            f"{_f(acc['mae']['rhythm'], 2)} | {_f(acc['mae']['rate'], 2)} |"
        )
        out += [
            "",
            "| seed 004 churn bucket (at the split) | customers | returned in the holdout "
            "| mean P(alive), repeat customers | actual visits | BG/NBD expected |",
            "|---|---|---|---|---|---|",
        ]
        for bkt in acc["churn_buckets"]:
            out.append(
                f"| {bkt['level']} | {bkt['customers']:,} | {_percent(bkt['returned_share'])} | "
                f"{_f(bkt['p_alive_mean'])} | {_f(bkt['actual_mean'], 2)} | {_f(bkt['bgnbd_mean'], 2)} |"
            )
        a_all, a_rep = acc["auc_all"], acc["auc_repeaters"]
        out += [
            "",
            'AUC of "returns in the holdout" (1 = perfect ranking, 0.5 = chance): all customers: BG/NBD '
            f"expected visits {_f(a_all['bgnbd_expected_visits'])}, days since the last visit "
            f"{_f(a_all['days_since_last_visit'])}, churn buckets {_f(a_all['churn_buckets'])}; "
            f"customers with a repeat visit: P(alive) {_f(a_rep['p_alive'])}, expected visits "
            f"{_f(a_rep['bgnbd_expected_visits'])}, days since the last visit "
            f"{_f(a_rep['days_since_last_visit'])}, churn buckets {_f(a_rep['churn_buckets'])}.",
            "",
        ]
    return "\n".join(out)
