"""The report page in a real browser: `conductor-dev report` on the demo data, opened from a file://
URL in Debian's headless Chromium with the network cut off. It must load with no console error and
no request leaving the file, draw a chart in every section that has data, say so plainly where
there is none, fit a phone's width, and show exactly the numbers the report views give: each
headline tile and table cell carries the view's value and its formatted text, and both are compared
with the same views queried here.
"""

from __future__ import annotations

import struct
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from conductor_dev import cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WAIT_MS = 120_000  # a busy 2-core machine parses 5 MB of plotly.js slowly
MIN_BASKETS = 20

CHART_SECTIONS = [
    "revenue",
    "segments",
    "churn",
    "cross_sell",
    "staff",
    "lead_score_trend",
    "prediction_accuracy",
]

# What the page must read, queried independently of the report module.
EXPECTED_TABLES = {
    "revenue_by_month": ("select * from public.report_revenue_by_month", ["month"]),
    "segments": ("select * from public.report_segments", ["lead_segment"]),
    "churn": ("select * from public.report_churn_distribution", ["churn_risk"]),
    "staff": ("select * from public.staff", ["staff_name", "shop_location"]),
    "lead_score_trend": (
        "select * from public.report_lead_score_trend "
        "where as_of_date = (select max(as_of_date) from public.report_lead_score_trend)",
        ["as_of_date", "lead_segment"],
    ),
    "prediction_accuracy": (
        "select * from public.report_visit_prediction_accuracy where month is not null",
        ["month"],
    ),
    "campaign_lift": ("select * from public.campaign_lift()", ["campaign_name", "campaign_batch_id"]),
}

# Columns whose presentation matters: money shows dollars and cents, shares show percentages.
EXPECTED_FORMATS = {
    "revenue_by_month": {"net_revenue": "money", "gross_sales": "money", "sales": "count", "month": "month"},
    "segments": {"customers": "count", "share": "percent", "avg_lifetime_value": "money"},
    "churn": {"customers": "count", "share": "percent"},
    "staff": {"total_sales": "money", "total_transactions": "count"},
    "prediction_accuracy": {"mean_abs_error_days": "number", "within_7_days": "percent"},
    "campaign_lift": {
        "conversion_lift": "points",
        "conversion_lift_lower": "points",
        "conversion_lift_upper": "points",
        "verdict": "text",
    },
}

COLLECT_JS = """
() => {
  const tables = {};
  for (const t of document.querySelectorAll('table[data-table]')) {
    const rows = {};
    for (const tr of t.querySelectorAll('tbody tr')) {
      const cells = {};
      for (const td of tr.querySelectorAll('td')) {
        cells[td.dataset.column] = {value: td.dataset.value, format: td.dataset.format, text: td.textContent};
      }
      rows[tr.dataset.key] = cells;
    }
    tables[t.dataset.table] = rows;
  }
  const metrics = {};
  for (const el of document.querySelectorAll('[data-metric]')) {
    metrics[el.dataset.metric] = {value: el.dataset.value, format: el.dataset.format || null,
                                  text: el.textContent};
  }
  const sections = {};
  for (const s of document.querySelectorAll('section[data-section]')) {
    const empty = s.querySelector('[data-empty]');
    sections[s.dataset.section] = {
      plots: s.querySelectorAll('.js-plotly-plot').length,
      drawn: [...s.querySelectorAll('.js-plotly-plot')].filter(
        p => p.querySelector('svg.main-svg') && p.querySelectorAll('g.trace').length > 0).length,
      empty: empty ? empty.textContent : null,
    };
  }
  const chart = id => { const gd = document.getElementById(id); return gd && gd.data ? gd.data : null; };
  return {
    tables, metrics, sections,
    charts: {revenue: chart('chart-revenue'), churn: chart('chart-churn'),
             accuracy: chart('chart-prediction_accuracy'), segments: chart('chart-segments')},
    external: [...document.querySelectorAll('script[src], link[href], img[src], iframe')].map(
      e => e.src || e.href),
  };
}
"""


# --- the expected text of a value, written apart from the report module's formatting ------------


def raw(value) -> str:
    return "" if value is None else str(value)


def expected_text(value, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == "money":
        cents = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return ("-" if cents < 0 else "") + f"${abs(cents):,.2f}"
    if fmt in ("count", "number"):
        return f"{value:,}"
    if fmt == "percent":
        return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"
    if fmt == "points":
        points = (Decimal(value) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
        return ("+" if points > 0 else "") + f"{points} pts"
    if fmt == "month":
        return value.strftime("%b %Y")
    if fmt == "text":
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value)
    raise AssertionError(f"unknown format {fmt}")


def rows_by_key(db, sql: str, key: list[str]) -> dict[str, dict]:
    with db.connect() as conn:
        cur = conn.execute(sql)
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return {"|".join(raw(r[k]) for k in key): r for r in rows}


def assert_cells_match(name: str, shown: dict, expected: dict[str, dict]) -> int:
    """Every cell of the page's table equals the view's value, and its text is that value formatted."""
    assert set(shown) == set(expected), f"{name}: rows shown {sorted(shown)} != the view's {sorted(expected)}"
    checked = 0
    for key, cells in shown.items():
        for column, cell in cells.items():
            value = expected[key][column]
            assert cell["value"] == raw(value), f"{name}[{key}].{column}: {cell['value']!r} != {value!r}"
            assert cell["text"] == expected_text(value, cell["format"]), f"{name}[{key}].{column}: {cell}"
            checked += 1
    for column, fmt in EXPECTED_FORMATS.get(name, {}).items():
        for key, cells in shown.items():
            assert cells[column]["format"] == fmt, (
                f"{name}[{key}].{column} shown as {cells[column]['format']}"
            )
    return checked


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Browser:
    assert CHROMIUM.exists(), "Chromium is missing: `make test` installs it (tools/ensure-system-packages.sh)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page load with the network cut off, recording everything that went wrong."""

    def __init__(self, browser: Browser, page_file: Path, viewport: dict):
        self.context = browser.new_context(viewport=viewport, offline=True, java_script_enabled=True)
        self.errors: list[str] = []
        self.requests: list[str] = []

        def route(route) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                self.requests.append(route.request.url)
                route.abort()

        self.context.route("**/*", route)
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))
        self.page.goto(page_file.as_uri(), wait_until="load", timeout=WAIT_MS)

    def wait_for_charts(self, sections: list[str]) -> None:
        """Until plotly has drawn a chart with its traces in each section (bounded, never a sleep)."""
        self.page.wait_for_function(
            "sections => sections.every(s => document.querySelector(`section#${s} .js-plotly-plot g.trace`))",
            arg=sections,
            timeout=WAIT_MS,
            polling=250,
        )

    def close(self) -> None:
        self.context.close()


def generate(db, out: Path, monkeypatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert cli.main(["report", "--out", str(out), "--min-baskets", str(MIN_BASKETS)]) == 0
    return out


# --- the tests -----------------------------------------------------------------------------------


def test_the_demo_datas_report_shows_the_views_numbers_in_a_browser(
    seeded_db, browser, tmp_path, monkeypatch
) -> None:
    # A day of lead-score history, as the hourly pg_cron job records it.
    seeded_db.execute("select conductor.record_lead_score_history()")
    page_file = generate(seeded_db, tmp_path / "report.html", monkeypatch)
    html = page_file.read_text()
    assert html.count("Plotly.newPlot") == len(CHART_SECTIONS)
    assert html.count("plotly.js v") == 1, "plotly.js is embedded once"
    assert "<script src" not in html and "<link" not in html

    visit = Visit(browser, page_file, DESKTOP)
    try:
        visit.wait_for_charts(CHART_SECTIONS)
        found = visit.page.evaluate(COLLECT_JS)
        visit.page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)
        visit.page.set_viewport_size(PHONE)
        visit.page.wait_for_function(
            f"document.documentElement.scrollWidth <= {PHONE['width']}"
            " && [...document.querySelectorAll('.js-plotly-plot')].every("
            f"p => p.getBoundingClientRect().width <= {PHONE['width']})",
            timeout=WAIT_MS,
            polling=250,
        )
        visit.page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        phone_width = visit.page.evaluate("document.documentElement.scrollWidth")
    finally:
        visit.close()
    assert visit.errors == [], visit.errors
    assert visit.requests == [], f"the page asked the network for {visit.requests}"
    assert found["external"] == [], "no external scripts, styles or images"

    # A drawn chart in every section with data; campaign lift says plainly there is none.
    for section in CHART_SECTIONS:
        assert found["sections"][section]["plots"] == 1, (section, found["sections"][section])
        assert found["sections"][section]["drawn"] == 1, (section, found["sections"][section])
        assert found["sections"][section]["empty"] is None, section
    lift = found["sections"]["lift"]
    assert lift["plots"] == 0 and lift["empty"].startswith("No campaigns to measure yet"), lift
    assert "campaign_lift" not in found["tables"]
    assert seeded_db.scalar("select count(*) from public.campaign_lift()") == 0

    # Headline numbers.
    (counts,) = rows_by_key(seeded_db, "select * from public.report_customer_counts", []).values()
    (today,) = rows_by_key(seeded_db, "select * from public.report_revenue_today", []).values()
    metrics = found["metrics"]
    for name in (
        "total_customers",
        "customers_with_visits",
        "new_this_month",
        "vip_customers",
        "active_last_30_days",
    ):
        assert metrics[name]["value"] == raw(counts[name]), name
        assert metrics[name]["text"] == expected_text(counts[name], "count"), name
    for name in ("net_revenue_today", "net_revenue_yesterday", "change"):
        assert metrics[name]["value"] == raw(today[name]), name
        assert metrics[name]["text"] == expected_text(today[name], "money"), name
    for name in ("sales_today", "sales_yesterday", "change_ratio"):
        assert metrics[name]["value"] == raw(today[name]), name
    assert counts["total_customers"] > 0 and metrics["total_customers"]["text"] != "0"

    overall = rows_by_key(
        seeded_db, "select * from public.report_visit_prediction_accuracy where month is null", ["month"]
    )[""]
    for metric, column, fmt in [
        ("prediction_count", "predictions", "count"),
        ("prediction_mean_abs_error_days", "mean_abs_error_days", "number"),
        ("prediction_median_abs_error_days", "median_abs_error_days", "number"),
        ("prediction_within_7_days", "within_7_days", "percent"),
    ]:
        assert metrics[metric]["value"] == raw(overall[column]), metric
        assert metrics[metric]["text"] == expected_text(overall[column], fmt), metric

    # Every table cell against its view.
    checked = 0
    for name, (sql, key) in EXPECTED_TABLES.items():
        if name == "campaign_lift":
            continue
        expected = rows_by_key(seeded_db, sql, key)
        assert expected, f"the demo data has rows for {name}"
        checked += assert_cells_match(name, found["tables"][name], expected)

    # Cross-sell: the top pairs by lift above the floor, none better left out.
    pairs = rows_by_key(
        seeded_db,
        f"select * from public.report_cross_sell_pairs where baskets_together >= {MIN_BASKETS}",
        ["product_a", "product_b"],
    )
    shown = found["tables"]["cross_sell_pairs"]
    assert 0 < len(shown) <= 10
    checked += assert_cells_match("cross_sell_pairs", shown, {k: pairs[k] for k in shown})
    lowest_shown = min(pairs[k]["lift"] for k in shown)
    assert all(p["lift"] <= lowest_shown for k, p in pairs.items() if k not in shown)
    assert len(shown) == min(10, len(pairs))

    # The charts draw the views' numbers.
    months = seeded_db.rows("select month, net_revenue from public.report_revenue_by_month order by month")
    assert found["charts"]["revenue"][0]["y"] == [float(v) for _, v in months]
    churn = dict(seeded_db.rows("select churn_risk, customers from public.report_churn_distribution"))
    chart = found["charts"]["churn"][0]
    assert dict(zip(chart["x"], chart["y"], strict=True)) == {k: float(v) for k, v in churn.items()}
    segments = dict(seeded_db.rows("select lead_segment, avg_lifetime_value from public.report_segments"))
    chart = found["charts"]["segments"][1]
    assert dict(zip(chart["y"], chart["x"], strict=True)) == {k: float(v) for k, v in segments.items()}

    assert checked > 300, f"only {checked} cells compared"
    assert phone_width <= PHONE["width"]
    assert png_size(tmp_path / "desktop.png")[0] == DESKTOP["width"]
    assert png_size(tmp_path / "phone.png")[0] == PHONE["width"]
    assert png_size(tmp_path / "phone.png")[1] > PHONE["height"]


def test_campaign_lift_shows_each_campaigns_interval_and_verdict(
    seeded_db, browser, tmp_path, monkeypatch
) -> None:
    # Three campaigns texted to the demo customers long enough ago for their windows to close: two
    # with a held-out group, one without.
    seeded_db.execute(
        """
        with recipients as (
            select distinct on (c.phone) c.member_id, c.phone, row_number() over (order by c.phone) as i
            from public.customers as c
            where c.phone is not null
            order by c.phone, c.member_id
        ),

        campaigns (name, batch, days_ago, holdout_every) as (
            values
                ('Spring deals', 'A', 200, 3),
                ('Fall restock', null, 60, 2),
                ('Loyalty thanks', null, 30, 0)
        )

        insert into public.scheduled_messages (
            customer_id, phone_number, message_content, scheduled_send_time, dispatched_at, status,
            campaign_name, campaign_batch_id, generation_cost
        )
        select
            r.member_id, r.phone, 'Deals this week', now() - k.days_ago * interval '1 day',
            now() - k.days_ago * interval '1 day',
            case when k.holdout_every > 0 and r.i % k.holdout_every = 0 then 'held_out' else 'sent' end,
            k.name, k.batch, 0.0075
        from recipients as r
        cross join campaigns as k
        """
    )
    sql, key = EXPECTED_TABLES["campaign_lift"]
    expected = rows_by_key(seeded_db, sql, key)
    assert set(expected) == {"Spring deals|A", "Fall restock|", "Loyalty thanks|"}
    assert expected["Loyalty thanks|"]["verdict"] == "no_holdout"
    measured = {k for k, r in expected.items() if r["conversion_lift"] is not None}
    assert measured == {"Spring deals|A", "Fall restock|"}

    page_file = generate(seeded_db, tmp_path / "report.html", monkeypatch)
    visit = Visit(browser, page_file, PHONE)
    try:
        visit.wait_for_charts(["lift"])
        found = visit.page.evaluate(COLLECT_JS)
        lift_chart = visit.page.evaluate("document.getElementById('chart-lift').data")
        visit.page.locator("section#lift").screenshot(path=str(tmp_path / "lift-phone.png"))
    finally:
        visit.close()
    assert visit.errors == [] and visit.requests == [], (visit.errors, visit.requests)
    assert found["sections"]["lift"]["drawn"] == 1
    assert "Loyalty thanks" in found["sections"]["lift"]["empty"]
    assert assert_cells_match("campaign_lift", found["tables"]["campaign_lift"], expected) > 20

    # Each measured campaign: its interval drawn from the lower to the upper bound, its lift a dot.
    intervals = [t for t in lift_chart if t["mode"] == "lines"]
    dots = next(t for t in lift_chart if t["mode"] == "markers")
    by_label = {"Spring deals|A": "Spring deals (A)", "Fall restock|": "Fall restock"}
    for k in measured:
        row = expected[k]
        label = by_label[k]
        (segment,) = [t for t in intervals if t["y"][0] == label]
        assert segment["x"] == [float(row["conversion_lift_lower"]), float(row["conversion_lift_upper"])]
        assert dots["x"][dots["y"].index(label)] == float(row["conversion_lift"])
        assert row["verdict"] in {"positive", "negative", "no_detectable_effect", "too_small_to_tell"}
    assert png_size(tmp_path / "lift-phone.png")[0] <= PHONE["width"]
