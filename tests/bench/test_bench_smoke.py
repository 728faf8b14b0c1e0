"""`python -m bench --quick` runs end to end on a tiny scale and produces every figure of
the benchmark, each with a number and its baseline. Only that the numbers exist is checked: speed is
never asserted in tests (`make bench` reports it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conductor_dev import installer

TIMEOUT = 240


def _run_quick(results_dir, *flags: str) -> dict:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "--quick", "--results-dir", str(results_dir), *flags],
        cwd=installer.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the harness stop its throwaway cluster; kill only if it does not exit.
        process.terminate()
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        stderr += f"\n(terminated after {TIMEOUT} s)"
    completed = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    md_files = sorted(results_dir.glob("*.md"))
    json_files = sorted(results_dir.glob("*.json"))
    return {
        "completed": completed,
        "md": md_files[0].read_text() if md_files else None,
        "json": json.loads(json_files[0].read_text()) if json_files else None,
        "files": [p.name for p in md_files + json_files],
    }


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _run_quick(tmp_path_factory.mktemp("bench-results"))


@pytest.fixture(scope="module")
def growth_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """1x and the growth scale (30x) only."""
    return _run_quick(tmp_path_factory.mktemp("bench-growth"), "--no-also-10x", "--also-30x")


def _by_figure(run: dict) -> dict[str, list[dict]]:
    figures: dict[str, list[dict]] = {}
    for row in run["json"]["rows"]:
        figures.setdefault(row["figure"], []).append(row)
    return figures


def test_quick_run_exits_cleanly_and_prints_the_table(quick_run: dict) -> None:
    completed: subprocess.CompletedProcess = quick_run["completed"]
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "| # | Figure | Scale | Conductor | Seeds' design | Target | Met |" in completed.stdout


def test_results_are_written_as_markdown_and_json_with_the_machine(quick_run: dict) -> None:
    assert quick_run["md"] is not None and quick_run["json"] is not None, quick_run["files"]
    machine = quick_run["json"]["machine"]
    for key in ("cpu", "cores", "memory_gib", "postgresql", "python", "date"):
        assert machine.get(key), key
    assert machine["postgresql"] in quick_run["md"]
    assert "| # | Figure |" in quick_run["md"]


def test_every_figure_is_measured_at_both_scales(quick_run: dict) -> None:
    figures = _by_figure(quick_run)
    assert sorted(figures) == ["1", "2", "3", "4", "5"]
    for figure in ("1", "2", "3", "4"):
        assert {row["scale"] for row in figures[figure]} == {"1x", "10x"}, figure
    for rows in figures.values():
        for row in rows:
            assert not row["conductor"].startswith("not measured"), row
            assert isinstance(row["value"], int | float), row
            assert row["target"], row


def test_each_figure_has_its_baseline_and_target(quick_run: dict) -> None:
    figures = _by_figure(quick_run)
    # Figures 1-4 compare with the seeds' design; 5 has no seed counterpart.
    for figure in ("1", "2", "4"):
        for row in figures[figure]:
            assert row["baseline"] not in ("", "—"), row
    for row in figures["3"]:
        if "relative to" not in row["measure"]:
            assert row["baseline"].startswith("customer_sms_context view"), row
    measures = [row["measure"] for row in figures["3"]]
    assert any(m.endswith(": p50") for m in measures)
    assert any(": p99" in m for m in measures)
    assert any("relative to the first scale" in m for m in measures)
    assert {row["measure"].split(",")[0] for row in figures["5"]} >= {
        "Outbound: queued row → AT+CMGS on the wire",
        "Inbound: +CMTI → committed row",
        "Throughput",
    }
    assert len(figures["4"]) == 6  # rebuild, nightly, one day's sales; at each scale


def test_insights_growth_is_measured_on_both_databases_interleaved(quick_run: dict) -> None:
    first, scaled = quick_run["json"]["scales"][:2]
    growth = scaled["insights_growth"]
    assert "error" not in growth, growth
    assert len(growth["passes"]) == scaled["plan"]["insights_runs"]
    for one in growth["passes"]:
        assert one["calls"] > 0 and one["first_p99_ms"] > 0 and one["scaled_p99_ms"] > 0, one
        assert one["ratio"] == pytest.approx(one["scaled_p99_ms"] / one["first_p99_ms"]), one
    assert "insights_growth" not in first
    # Each scale samples the same heaviest histories (one copy of each at 10x).
    assert first["insights"]["heaviest_counts"] == scaled["insights"]["heaviest_counts"]
    heaviest = first["insights"]["heaviest_counts"]
    assert growth["first_heaviest_counts"] == growth["scaled_heaviest_counts"] == heaviest
    row = [r for r in _by_figure(quick_run)["3"] if r["scale"] == "10x" and "relative to" in r["measure"]]
    assert len(row) == 1 and "interleaved" in row[0]["measure"], row
    assert row[0]["value"] == pytest.approx(growth["median_ratio"]), row


def test_raw_samples_are_kept_for_each_scale(quick_run: dict) -> None:
    for scale in quick_run["json"]["scales"]:
        samples = scale["ingest"]["samples"]
        for variant in ("conductor", "plain", "baseline", "baseline_plain"):
            assert samples[variant] and all(s > 0 for s in samples[variant]), variant
        assert scale["dataset"]["counts"]["transactions"] > 0


def test_the_growth_scale_measures_ingest_pos_insights_and_the_nightly_refresh(growth_run: dict) -> None:
    completed: subprocess.CompletedProcess = growth_run["completed"]
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert [s["label"] for s in growth_run["json"]["scales"]] == ["1x", "30x"]
    figures = _by_figure(growth_run)
    growth = {f: [r for r in rows if r["scale"] == "30x"] for f, rows in figures.items()}
    for figure in ("1", "2", "3"):
        assert growth[figure], figure
        for row in growth[figure]:
            assert not row["conductor"].startswith("not measured"), row
            assert isinstance(row["value"], int | float), row
    nightly = [r for r in growth["4"] if r["measure"].startswith("Nightly refresh")]
    assert nightly and isinstance(nightly[0]["value"], int | float), growth["4"]
    # Targets belong to 1x and 10x; at 30x the table only reports (the README says how it grows).
    for rows in growth.values():
        for row in rows:
            assert row["met"] is None, row
            assert row["target"] == "(no target)" or row["target"].endswith(" (at 1x and 10x)"), row
    rebuild = [r for r in growth["4"] if r["measure"].startswith("Full rebuild")][0]
    assert rebuild["conductor"] == "not run at this scale"
    assert rebuild["baseline"].startswith("full recompute ")
    samples = growth_run["json"]["scales"][1]["ingest"]["samples"]
    for variant in ("conductor", "plain", "baseline_plain"):
        assert samples[variant] and all(s > 0 for s in samples[variant]), variant
    assert samples["baseline"] == []
