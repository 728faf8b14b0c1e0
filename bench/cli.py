"""`python -m bench` (what `make bench` runs): every benchmark figure, Conductor next to the
seeds' own design, at the seeds' scale and at 10x, in one run on a throwaway cluster."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import blaze, bridge, data, env, ingest, insights, lifetime_value, package, pos, refresh, report

RESULTS_DIR = Path(__file__).resolve().parent / "results"
QUICK_SCALE = 0.002
# Seconds the per-call figures (2 and 3) may take at one scale; a slower function is measured
# on fewer calls, and the table says so.
FIGURE_BUDGET_S = 240.0


@dataclass
class Plan:
    """How much of each figure to measure at one scale."""

    label: str
    scale: float
    replicas: int  # 10x is the generated data written ten times under new keys
    ingest_runs: int
    pos_iterations: int
    pos_runs: int
    insights_random: int
    insights_heaviest: int
    insights_runs: int
    rebuild_runs: int
    refresh_runs: int
    # False for the growth scale (30x): no full rebuild from raw rows, and the seeds' tables are
    # loaded by plain COPY and their full recompute instead of their per-row triggers.
    full: bool = True


def plans(
    scale: float, runs: int, also_10x: bool, quick: bool, also_30x: bool = False, bulk_runs_10x: int = 1
) -> list[Plan]:
    if quick:
        first = Plan("1x", scale, 1, 1, 60, 1, 30, 5, 1, 1, 1)
        tenx = Plan("10x", scale * 10, 10, 1, 60, 1, 30, 5, 1, 1, 1)
        thirtyx = Plan("30x", scale * 30, 30, 1, 60, 1, 30, 5, 1, 0, 1, full=False)
    else:
        first = Plan("1x", scale, 1, runs, 3000, runs, 1000, 20, runs, runs, runs)
        # 10x: each bulk load and rebuild once by default (a round of the four loads and two
        # rebuilds takes about fifteen minutes), distributions as large.
        tenx = Plan("10x", scale * 10, 10, bulk_runs_10x, 1500, runs, 1000, 20, runs, bulk_runs_10x, runs)
        # 30x: how each figure grows (ingest, POS, insights, nightly refresh), one run of each.
        thirtyx = Plan("30x", scale * 30, 30, 1, 1500, 1, 1000, 20, 1, 0, 1, full=False)
    return [first] + ([tenx] if also_10x else []) + ([thirtyx] if also_30x else [])


def _figure(results: dict, key: str, log: Callable[[str], None], fn: Callable[[], dict]) -> None:
    started = time.perf_counter()
    try:
        results[key] = fn()
    except package.Missing as exc:
        results[key] = {"error": str(exc)}
        log(f"  {key}: not measured: {exc}")
    except Exception as exc:  # a failing figure must not hide the others
        results[key] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        log(f"  {key}: failed:\n{traceback.format_exc()}")
    else:
        log(f"  {key}: done in {time.perf_counter() - started:.1f} s")


INSIGHTS_REFERENCE = "bench_insights_reference"


def run_scale(
    cluster,
    plan: Plan,
    dataset: data.Dataset,
    log,
    quick: bool,
    timeout: float | None,
    insights_reference: str | None = None,
    keep_insights_reference: bool = False,
    insights_reference_copies: int = 1,
) -> tuple[dict, str | None]:
    """Every figure but the bridge at one scale; returns the results and the loaded database.

    keep_insights_reference: copy the loaded database as figure 3 left it (INSIGHTS_REFERENCE),
    for a larger scale's growth measurement. insights_reference: that copy (its data holding
    each generated history insights_reference_copies times), measured against this scale's
    database right after its figure 3."""
    s: dict = {"label": plan.label, "scale": plan.scale, "plan": asdict(plan)}
    s["dataset"] = {
        "description": dataset.describe(),
        "counts": dataset.counts,
        "generate_seconds": dataset.generate_seconds,
        "loader": dataset.loader_report,
        "first_day": dataset.first_day,
        "last_day": dataset.last_day,
        "days": dataset.days,
        "replicas": dataset.replicas,
    }
    template = f"bench_template_{plan.label}"
    data.build_template(cluster, dataset, template)
    loaded = f"bench_loaded_{plan.label}"

    log(f"[{plan.label}] figure 1: bulk ingest ({plan.ingest_runs} runs)")
    _figure(
        s,
        "ingest",
        log,
        lambda: ingest.run(
            cluster, dataset, template, plan.ingest_runs, loaded, log, timeout, full=plan.full
        ),
    )
    env.drop_database(cluster, template)
    if "error" in s["ingest"] or not s["ingest"].get("loaded_from"):
        reason = s["ingest"].get("error") or (
            "no loaded database: a maintained load (figure 1) and a full rebuild from raw rows "
            f"(figure 4) were both stopped at the time limit ({s['ingest'].get('timeout_s') or 0:g} s)"
        )
        for key in ("insights", "pos", "refresh"):
            s[key] = {"error": reason}
        return s, None
    url = env.socket_url(cluster, loaded)

    # Figure 7 first: its holdout must be the generated history, before figures 2 and 4 add sales.
    log(f"[{plan.label}] figure 7: lifetime value fit{' and accuracy' if plan.label == '1x' else ''}")
    _figure(s, "lifetime_value", log, lambda: lifetime_value.run(url, accuracy=plan.label == "1x"))

    log(f"[{plan.label}] figure 3: get_customer_insights")
    _figure(
        s,
        "insights",
        log,
        lambda: insights.run(
            url,
            plan.insights_random,
            plan.insights_heaviest,
            plan.insights_runs,
            budget_s=FIGURE_BUDGET_S,
            copies=plan.replicas,
        ),
    )
    if keep_insights_reference and "error" not in s["insights"]:
        try:
            env.create_database(cluster, INSIGHTS_REFERENCE, template=loaded)
            s["insights_reference_copied"] = True
        except Exception as exc:  # the growth figure is then missing, the others are not
            log(f"  no copy for figure 3's growth: {type(exc).__name__}: {exc}")
    if insights_reference and "error" not in s["insights"]:
        log(f"[{plan.label}] figure 3: p99 growth, interleaved with the first scale's database")
        _figure(
            s,
            "insights_growth",
            log,
            lambda: insights.growth(
                env.socket_url(cluster, insights_reference),
                url,
                plan.insights_random,
                plan.insights_heaviest,
                plan.insights_runs,
                budget_s=FIGURE_BUDGET_S,
                first_copies=insights_reference_copies,
                scaled_copies=plan.replicas,
            ),
        )
    log(f"[{plan.label}] figure 2: POS sale")
    _figure(
        s,
        "pos",
        log,
        lambda: pos.run(
            url, plan.pos_iterations, plan.pos_runs, warmup=10 if quick else 50, budget_s=FIGURE_BUDGET_S
        ),
    )
    log(f"[{plan.label}] figure 4: rebuild, nightly refresh, one day's sales")
    _figure(
        s,
        "refresh",
        log,
        lambda: refresh.run(url, plan.refresh_runs, plan.rebuild_runs, s["ingest"].get("timeout_s")),
    )
    return s, loaded


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scale", type=float, default=None, help="data scale, 1 = the seeds' volumes (default 1)"
    )
    parser.add_argument(
        "--also-10x",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure at 10 times the scale (default on)",
    )
    parser.add_argument(
        "--also-30x",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also measure at 30 times the scale (ingest, POS sale, insights, nightly refresh; one run "
        "each, no full rebuild from raw rows, the seeds' tables loaded by plain COPY and their "
        "recompute): a ten-store chain, about two more hours (default off)",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per figure; medians are reported (default 3)"
    )
    parser.add_argument(
        "--bulk-runs-10x",
        type=int,
        default=1,
        help="runs of the 10x bulk loads and full rebuilds, whose median is reported; each run adds "
        "about fifteen minutes (default 1)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke test: scale {QUICK_SCALE}, one short run"
    )
    parser.add_argument("--bridge-messages", type=int, default=None, help="messages each way for figure 5")
    parser.add_argument(
        "--results-dir", type=Path, default=None, help=f"where to write results ({RESULTS_DIR})"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds after which a maintained bulk load, a full rebuild or a refresh is stopped and "
        "reported as not finished (default: 10 times the plain COPY at that scale, at least 300)",
    )
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--keep-cluster", action="store_true", help="leave the throwaway cluster's folder")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.bulk_runs_10x < 1:
        parser.error("--bulk-runs-10x must be at least 1")
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    if scale <= 0:
        parser.error("--scale must be positive")
    bridge_messages = args.bridge_messages or (20 if args.quick else 1000)
    log = print if not args.quick else (lambda msg: print(msg, file=sys.stderr))

    # SIGTERM (a timeout, a CI cancel) unwinds like Ctrl-C, so the throwaway cluster is stopped
    # and its folder removed on the way out.
    signal.signal(signal.SIGTERM, _terminate)
    env.Options.quick = args.quick
    started = time.perf_counter()
    results: dict = {"scales": [], "notes": []}
    loader = data.default_loader()
    with env.throwaway_cluster(keep=args.keep_cluster) as (cluster, work):
        results["machine"] = env.describe_machine(cluster.url("postgres"))
        todo = plans(scale, args.runs, args.also_10x, args.quick, args.also_30x, args.bulk_runs_10x)
        log(f"generating the demo data at scale {scale:g} (the project's generator and import path)")
        source = data.make_source(cluster, scale, loader=loader, log=log)
        datasets = {}
        for plan in todo:
            datasets[plan.label] = data.export(source, work / plan.label, plan.replicas)
            log(f"[{plan.label}] {datasets[plan.label].describe()}")
        env.drop_database(cluster, source.name)
        # Figure 3's growth (the p99 at 10x against 1x) is measured on both databases at once.
        growth_at = next((i for i, p in enumerate(todo) if i > 0 and p.full), None)
        reference: str | None = None
        for i, plan in enumerate(todo):
            s, loaded = run_scale(
                cluster,
                plan,
                datasets[plan.label],
                log,
                args.quick,
                args.time_limit,
                insights_reference=reference if i == growth_at else None,
                keep_insights_reference=i == 0 and growth_at is not None,
                insights_reference_copies=todo[0].replicas,
            )
            if s.get("insights_reference_copied"):
                reference = INSIGHTS_REFERENCE
            if i == growth_at and reference:
                env.drop_database(cluster, reference)
                reference = None
            results["scales"].append(s)
            if i == 0 and loaded:
                log(f"[{plan.label}] figure 5: bridge against the simulator, {bridge_messages} each way")
                holder: dict = {}
                _figure(
                    holder,
                    "bridge",
                    log,
                    lambda loaded=loaded: bridge.run(cluster, loaded, bridge_messages, args.quick),
                )
                results["bridge"] = {"label": plan.label, **holder["bridge"]}
            if loaded:
                env.drop_database(cluster, loaded)
        log("figure 6: Blaze backfill through blaze_sync_page against the CSV import")
        holder = {}
        _figure(holder, "blaze", log, lambda: blaze.run(cluster, args.quick))
        results["blaze"] = holder["blaze"]
    results["duration_s"] = time.perf_counter() - started

    rows = report.build_rows(results)
    for s in results["scales"]:
        ing = s.get("ingest", {})
        if ing.get("sanity"):
            results["notes"].append(
                f"{s['label']}: in the loaded database ({ing['loaded_from']}): {ing['sanity']}"
            )
        caught_up = s.get("insights", {}).get("caught_up")
        if caught_up:
            results["notes"].append(
                f"{s['label']}: before figure 3, the per-minute job built the ready-made AI context of "
                f"{caught_up['context_built']:,} customers in {caught_up['seconds']:.2f} s (untimed; a live "
                "server does this within a minute of the load)"
            )
    print()
    print(report.markdown(results, rows))
    if not args.no_write:
        md, js = report.write(results, rows, args.results_dir or RESULTS_DIR)
        print(f"wrote {md} and {js.name}")
    unmeasured = [r for r in rows if r.conductor.startswith("not measured")]
    if unmeasured:
        print(f"{len(unmeasured)} figure(s) could not be measured", file=sys.stderr)
        return 1
    return 0
