"""`conductor-dev report`: the shop owner's report, one self-contained HTML page with charts.

Every number on the page is selected from the package's report views (and `public.campaign_lift()`
and the maintained totals of `public.staff`), in one read-only snapshot; Python only formats
them. Charts are plotly figures; plotly.js is embedded once, inline, so the page opens without a
network. Each figure also has its numbers in a small table whose cells carry the view's value
(`data-value`) beside the formatted text, so a reader, or a test, can check the page against SQL.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from string import Template

import plotly.graph_objects as go
import psycopg
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots
from psycopg.rows import dict_row

DEFAULT_MIN_BASKETS = 20
TOP_PAIRS = 10
TOP_STAFF = 12

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
SEGMENT_COLOURS = {"hot": "#d62728", "warm": "#ff7f0e", "cool": "#17becf", "cold": "#1f77b4"}
CHURN_COLOURS = {"Low": "#2ca02c", "Medium": "#f2a900", "High": "#d62728", "No visits": "#8c8c8c"}
VERDICT_COLOURS = {"positive": "#2ca02c", "negative": "#d62728"}
PLOT_CONFIG = {"responsive": True, "displaylogo": False, "displayModeBar": False}

# The queries: each selects from one view (or function, or table) and only orders or filters.
QUERIES = {
    "counts": "select * from public.report_customer_counts",
    "today": "select * from public.report_revenue_today",
    "revenue": "select * from public.report_revenue_by_month order by month",
    "segments": "select * from public.report_segments order by avg_lead_score desc nulls last, lead_segment",
    "churn": (
        "select * from public.report_churn_distribution "
        "order by avg_days_since_visit asc nulls last, churn_risk"
    ),
    "lift": (
        "select * from public.campaign_lift() "
        "order by first_text_at, campaign_name, campaign_batch_id nulls first"
    ),
    "pairs": (
        "select * from public.report_cross_sell_pairs where baskets_together >= %(min_baskets)s "
        "order by lift desc, baskets_together desc, product_a, product_b limit %(top)s"
    ),
    "staff": (
        "select staff_name, shop_location, role, is_active, total_transactions, total_sales, "
        "avg_transaction_value, total_refunds, gross_refunds from public.staff "
        "order by total_sales desc, staff_name, shop_location nulls first"
    ),
    "trend": (
        "select * from public.report_lead_score_trend order by as_of_date, avg_lead_score desc nulls last"
    ),
    "accuracy": "select * from public.report_visit_prediction_accuracy order by month nulls first",
}


# --- formatting (the only thing Python does to a number) ---------------------------------------


def raw(value) -> str:
    """A value as the database gave it, for data-value attributes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _dec(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def fmt_money(value) -> str:
    if value is None:
        return "—"
    amount = _dec(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def fmt_count(value) -> str:
    return "—" if value is None else f"{value:,}"


def fmt_number(value) -> str:
    """A numeric as the view rounded it (its own decimals), with thousands separators."""
    return "—" if value is None else f"{_dec(value):,}"


def fmt_percent(value) -> str:
    """A ratio (0.3781) as a percentage with one decimal (37.8%)."""
    if value is None:
        return "—"
    return f"{(_dec(value) * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def fmt_points(value) -> str:
    """A difference of two rates (0.0123) in percentage points, signed (+1.2 pts)."""
    if value is None:
        return "—"
    points = (_dec(value) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{'+' if points > 0 else ''}{points} pts"


def fmt_month(value) -> str:
    return "—" if value is None else value.strftime("%b %Y")


def fmt_text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


FORMATS = {
    "money": fmt_money,
    "count": fmt_count,
    "number": fmt_number,
    "percent": fmt_percent,
    "points": fmt_points,
    "month": fmt_month,
    "text": fmt_text,
}


def _floats(values) -> list[float | None]:
    """Chart coordinates: the views' numbers as JSON numbers (plotly takes no Decimal)."""
    return [None if v is None else float(v) for v in values]


# --- page pieces ---------------------------------------------------------------------------------


@dataclass
class Column:
    name: str  # the view's column
    label: str
    format: str = "number"


@dataclass
class Section:
    key: str
    title: str
    lede: str
    figure: go.Figure | None = None
    empty: str | None = None  # said instead of a chart when there is nothing to show
    tiles: str = ""  # headline numbers of the section, above its chart
    tables: list[str] = field(default_factory=list)
    wide: bool = False


def table(name: str, rows: list[dict], columns: list[Column], key: list[str], caption: str = "") -> str:
    """A small table; each row keyed by its view's key columns, each cell with the view's value."""
    head = "".join(f'<th scope="col">{html.escape(c.label)}</th>' for c in columns)
    body = []
    for row in rows:
        row_key = "|".join(raw(row[k]) for k in key)
        cells = []
        for c in columns:
            value = row[c.name]
            text = FORMATS[c.format](value)
            align = "" if c.format in ("text", "month") else ' class="num"'
            cells.append(
                f'<td{align} data-column="{c.name}" data-format="{c.format}" '
                f'data-value="{html.escape(raw(value))}">{html.escape(text)}</td>'
            )
        body.append(f'<tr data-key="{html.escape(row_key)}">{"".join(cells)}</tr>')
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table data-table="{name}" data-key-columns="{",".join(key)}">{cap}'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def tile(metric: str, label: str, value, format: str, note: str = "") -> str:
    text = FORMATS[format](value)
    extra = f'<span class="note">{html.escape(note)}</span>' if note else ""
    return (
        f'<div class="tile"><span class="label">{html.escape(label)}</span>'
        f'<span class="value" data-metric="{metric}" data-format="{format}" '
        f'data-value="{html.escape(raw(value))}">{html.escape(text)}</span>{extra}</div>'
    )


def _layout(fig: go.Figure, **kwargs) -> go.Figure:
    """The page's common look (system fonts, fills its container's width), then the figure's own."""
    layout = {
        "template": "plotly_white",
        "autosize": True,
        "height": 340,
        "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
        "font": {"family": FONT, "size": 13},
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
    }
    fig.update_layout(layout | kwargs)
    return fig


def labelled_bars(labels: list[str], values, texts: list[str], colour: str, axis: dict) -> go.Figure:
    """Horizontal bars, best on top, each with its (long) name above it, so names fit a phone."""
    ranks = [f"#{len(labels) - i}" for i in range(len(labels))]
    fig = go.Figure(
        go.Bar(
            x=_floats(values),
            y=ranks,
            orientation="h",
            marker_color=colour,
            width=0.42,
            text=texts,
            textposition="auto",
            cliponaxis=False,
            hoverinfo="skip",
        )
    )
    for rank, label in zip(ranks, labels, strict=True):
        fig.add_annotation(
            x=0,
            xref="paper",
            y=rank,
            yshift=11,
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            align="left",
            font={"size": 12},
            text=label,
        )
    lines = max((label.count("<br>") + 1 for label in labels), default=1)
    return _layout(
        fig,
        height=56 + (40 + 16 * lines) * len(labels),
        xaxis=axis | {"rangemode": "tozero"},
        yaxis={"type": "category", "showticklabels": False},
        showlegend=False,
        margin={"l": 8, "r": 16, "t": 28, "b": 48},
    )


# --- sections ------------------------------------------------------------------------------------


def revenue_section(months: list[dict]) -> Section:
    s = Section(
        "revenue",
        "Revenue by month",
        "Net revenue (completed sales minus refunds) per store month; the last bar is the month so far.",
        wide=True,
    )
    if not months:
        s.empty = "No completed sales yet."
        return s
    fig = go.Figure(
        go.Bar(
            x=[m["month"].isoformat() for m in months],
            y=_floats(m["net_revenue"] for m in months),
            customdata=[[fmt_count(m["sales"]), fmt_money(m["avg_transaction"])] for m in months],
            hovertemplate="%{x|%b %Y}: $%{y:,.2f} net, %{customdata[0]} sales, average %{customdata[1]}"
            "<extra></extra>",
            marker_color="#2a7b4f",
            name="Net revenue",
        )
    )
    s.figure = _layout(
        fig,
        yaxis={"title": "net revenue", "tickprefix": "$", "separatethousands": True},
        xaxis={"type": "date", "tickformat": "%b %Y"},
        showlegend=False,
        margin={"l": 64, "r": 16, "t": 16, "b": 48},
    )
    s.tables.append(
        table(
            "revenue_by_month",
            list(reversed(months)),
            [
                Column("month", "Month", "month"),
                Column("sales", "Sales", "count"),
                Column("refunds", "Refunds", "count"),
                Column("gross_sales", "Gross sales", "money"),
                Column("refunded", "Refunded", "money"),
                Column("net_revenue", "Net revenue", "money"),
                Column("avg_transaction", "Avg sale", "money"),
                Column("customers", "Customers", "count"),
            ],
            ["month"],
        )
    )
    return s


def segments_section(segments: list[dict]) -> Section:
    s = Section(
        "segments",
        "Customers by lead segment",
        "How many customers each lead-score segment holds and what they are worth (average lifetime value).",
    )
    if not segments:
        s.empty = "No customer has a lead score yet."
        return s
    shown = list(reversed(segments))  # the view's order from the top
    names = [r["lead_segment"] for r in shown]
    colours = [SEGMENT_COLOURS.get(n, "#7f7f7f") for n in names]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        subplot_titles=("Customers (share)", "Avg lifetime value"),
        horizontal_spacing=0.06,
    )
    fig.add_bar(
        x=_floats(r["customers"] for r in shown),
        y=names,
        orientation="h",
        marker_color=colours,
        text=[f"{fmt_count(r['customers'])} ({fmt_percent(r['share'])})" for r in shown],
        textposition="auto",
        hoverinfo="skip",
        name="Customers",
        row=1,
        col=1,
    )
    fig.add_bar(
        x=_floats(r["avg_lifetime_value"] for r in shown),
        y=names,
        orientation="h",
        marker_color=colours,
        text=[fmt_money(r["avg_lifetime_value"]) for r in shown],
        textposition="auto",
        hoverinfo="skip",
        name="Average lifetime value",
        row=1,
        col=2,
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(type="category", automargin=True)
    fig.update_annotations(font={"size": 13})
    s.figure = _layout(fig, height=300, showlegend=False, margin={"l": 8, "r": 8, "t": 36, "b": 16})
    s.tables.append(
        table(
            "segments",
            segments,
            [
                Column("lead_segment", "Segment", "text"),
                Column("customers", "Customers", "count"),
                Column("share", "Share", "percent"),
                Column("avg_lifetime_value", "Avg LTV", "money"),
                Column("total_lifetime_value", "Total LTV", "money"),
                Column("avg_visits", "Avg visits", "number"),
                Column("avg_days_since_visit", "Avg days since visit", "number"),
                Column("avg_lead_score", "Avg lead score", "number"),
                Column("avg_expected_value_12m", "Expected 12-month value", "money"),
            ],
            ["lead_segment"],
        )
    )
    return s


def churn_section(churn: list[dict]) -> Section:
    s = Section(
        "churn",
        "Churn risk",
        "Customers by days since their last visit (Low under 30, Medium 30-59, High 60 and more).",
    )
    if not churn:
        s.empty = "No customers yet."
        return s
    names = [r["churn_risk"] for r in churn]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=_floats(r["customers"] for r in churn),
            marker_color=[CHURN_COLOURS.get(n, "#7f7f7f") for n in names],
            text=[fmt_percent(r["share"]) for r in churn],
            textposition="outside",
            cliponaxis=False,
            name="Customers",
        )
    )
    s.figure = _layout(
        fig, yaxis={"title": "customers"}, showlegend=False, margin={"l": 56, "r": 16, "t": 24, "b": 40}
    )
    s.tables.append(
        table(
            "churn",
            churn,
            [
                Column("churn_risk", "Churn risk", "text"),
                Column("customers", "Customers", "count"),
                Column("share", "Share", "percent"),
                Column("avg_lifetime_value", "Avg LTV", "money"),
                Column("avg_days_since_visit", "Avg days since visit", "number"),
                Column("avg_p_alive", "Model's P(alive)", "percent"),
            ],
            ["churn_risk"],
        )
    )
    return s


def _campaign_label(row: dict) -> str:
    batch = row["campaign_batch_id"]
    return f"{row['campaign_name']} ({batch})" if batch else row["campaign_name"]


def lift_section(lifts: list[dict]) -> Section:
    s = Section(
        "lift",
        "Campaign lift against a holdout",
        "For each campaign, the conversion rate of the texted customers minus that of the customers held "
        "back, with its 95% interval. A bar that crosses zero means the data cannot tell the campaign "
        "did anything.",
        wide=True,
    )
    if not lifts:
        s.empty = (
            "No campaigns to measure yet: campaign lift needs a campaign dispatched with a holdout share "
            "(public.campaign_holdouts or the campaign_holdout_share setting), so that some recipients "
            "are held back and not texted."
        )
        return s
    measured = [r for r in lifts if r["conversion_lift"] is not None]
    if measured:
        fig = go.Figure()
        # Each campaign's 95% interval as a segment from its lower to its upper bound, and its lift
        # as a dot on it, coloured by the verdict. The axis shows the rates' difference as percent.
        for r in measured:
            label = _campaign_label(r)
            colour = VERDICT_COLOURS.get(r["verdict"], "#555")
            fig.add_scatter(
                x=_floats([r["conversion_lift_lower"], r["conversion_lift_upper"]]),
                y=[label, label],
                mode="lines",
                line={"color": colour, "width": 4},
                hoverinfo="skip",
                showlegend=False,
            )
        fig.add_scatter(
            x=_floats(r["conversion_lift"] for r in measured),
            y=[_campaign_label(r) for r in measured],
            mode="markers",
            marker={
                "size": 13,
                "color": [VERDICT_COLOURS.get(r["verdict"], "#555") for r in measured],
                "line": {"color": "#fff", "width": 2},
            },
            hoverinfo="skip",
            showlegend=False,
        )
        for r in measured:  # each campaign's name and numbers above its interval, to fit a phone
            fig.add_annotation(
                x=0,
                xref="paper",
                y=_campaign_label(r),
                yshift=10,
                xanchor="left",
                yanchor="bottom",
                showarrow=False,
                align="left",
                font={"size": 12},
                text=f"<b>{html.escape(_campaign_label(r))}</b>: {fmt_points(r['conversion_lift'])} "
                f"({fmt_points(r['conversion_lift_lower'])} to {fmt_points(r['conversion_lift_upper'])})"
                f"<br>{html.escape(r['verdict'].replace('_', ' '))}",
            )
        fig.add_vline(x=0, line_width=1, line_color="#888")
        s.figure = _layout(
            fig,
            height=90 + 84 * len(measured),
            xaxis={"title": "texted minus held-out conversion", "tickformat": "+.0%"},
            yaxis={"type": "category", "showticklabels": False, "range": [-0.5, len(measured) - 0.1]},
            margin={"l": 8, "r": 16, "t": 8, "b": 56},
        )
    unmeasured = [r for r in lifts if r["conversion_lift"] is None]
    if unmeasured:
        s.empty = "Not measured: " + "; ".join(
            f"{_campaign_label(r)} ({r['verdict_reason']})" for r in unmeasured
        )
    s.tables.append(
        table(
            "campaign_lift",
            lifts,
            [
                Column("campaign_name", "Campaign", "text"),
                Column("campaign_batch_id", "Batch", "text"),
                Column("texted", "Texted", "count"),
                Column("held_out", "Held out", "count"),
                Column("texted_conversion_rate", "Texted conversion", "percent"),
                Column("held_out_conversion_rate", "Held-out conversion", "percent"),
                Column("conversion_lift", "Lift", "points"),
                Column("conversion_lift_lower", "95% low", "points"),
                Column("conversion_lift_upper", "95% high", "points"),
                Column("verdict", "Verdict", "text"),
                Column("revenue_lift", "Revenue lift per recipient", "money"),
                Column("incremental_revenue", "Incremental revenue", "money"),
                Column("total_cost", "Cost", "money"),
                Column("verdict_reason", "Why", "text"),
            ],
            ["campaign_name", "campaign_batch_id"],
        )
    )
    return s


def cross_sell_section(pairs: list[dict], min_baskets: int) -> Section:
    s = Section(
        "cross_sell",
        "Bought together",
        f"The {TOP_PAIRS} product pairs with the highest lift among those bought together in at least "
        f"{min_baskets} baskets: a lift of 3 means three times as often as chance.",
        wide=True,
    )
    if not pairs:
        s.empty = f"No pair of products was bought together in {min_baskets} or more baskets yet."
        return s
    shown = list(reversed(pairs))  # the view's order from the top
    s.figure = labelled_bars(
        [
            html.escape(f"{p['product_a_name'] or p['product_a']} +")
            + "<br>"
            + html.escape(p["product_b_name"] or p["product_b"])
            for p in shown
        ],
        (p["lift"] for p in shown),
        [f"lift {fmt_number(p['lift'])}, {fmt_count(p['baskets_together'])} baskets" for p in shown],
        "#6a51a3",
        {"title": "lift"},
    )
    s.tables.append(
        table(
            "cross_sell_pairs",
            pairs,
            [
                Column("product_a_name", "Product A", "text"),
                Column("product_b_name", "Product B", "text"),
                Column("baskets_together", "Baskets together", "count"),
                Column("confidence_a_to_b", "A → B", "percent"),
                Column("confidence_b_to_a", "B → A", "percent"),
                Column("lift", "Lift", "number"),
            ],
            ["product_a", "product_b"],
        )
    )
    return s


def staff_section(staff: list[dict]) -> Section:
    s = Section(
        "staff",
        "Staff",
        f"Completed sales to date of the {TOP_STAFF} budtenders who sold the most, with their average sale; "
        "every budtender in the table.",
        wide=True,
    )
    if not staff:
        s.empty = "No staff yet."
        return s
    shown = list(reversed(staff[:TOP_STAFF]))  # the query's order from the top
    s.figure = labelled_bars(
        [
            html.escape(
                f"{r['staff_name']} ({r['shop_location']})" if r["shop_location"] else r["staff_name"]
            )
            for r in shown
        ],
        (r["total_sales"] for r in shown),
        [f"{fmt_money(r['total_sales'])}, avg {fmt_money(r['avg_transaction_value'])}" for r in shown],
        "#2a7b4f",
        {"title": "completed sales", "tickprefix": "$", "separatethousands": True},
    )
    s.tables.append(
        table(
            "staff",
            staff,
            [
                Column("staff_name", "Staff", "text"),
                Column("shop_location", "Location", "text"),
                Column("total_transactions", "Sales", "count"),
                Column("total_sales", "Total sales", "money"),
                Column("avg_transaction_value", "Avg sale", "money"),
                Column("total_refunds", "Refunds", "count"),
                Column("gross_refunds", "Refunded", "money"),
            ],
            ["staff_name", "shop_location"],
        )
    )
    return s


def trend_section(trend: list[dict]) -> Section:
    s = Section(
        "lead_score_trend",
        "Lead-score trend",
        "Customers in each lead segment, day by day, as the hourly pg_cron job records them.",
    )
    if not trend:
        s.empty = (
            "No lead-score history recorded yet: the pg_cron job conductor_record_lead_score_history "
            "records each day's segments hourly from the day of the install on."
        )
        return s
    days = sorted({r["as_of_date"] for r in trend})
    fig = go.Figure()
    if len(days) == 1:
        # One recorded day is no line yet: that day's segments as bars.
        fig.add_bar(
            x=[r["lead_segment"] for r in trend],
            y=_floats(r["customers"] for r in trend),
            marker_color=[SEGMENT_COLOURS.get(r["lead_segment"], "#7f7f7f") for r in trend],
            name=fmt_text(days[0]),
        )
        s.figure = _layout(
            fig,
            yaxis={"title": "customers"},
            xaxis={"title": f"{fmt_text(days[0])}, the first day recorded"},
            showlegend=False,
        )
    else:
        segments: dict[str, list[dict]] = {}
        for r in trend:
            segments.setdefault(r["lead_segment"], []).append(r)
        for name, rows in segments.items():
            fig.add_scatter(
                x=[r["as_of_date"].isoformat() for r in rows],
                y=_floats(r["customers"] for r in rows),
                mode="lines+markers",
                name=name,
                line={"color": SEGMENT_COLOURS.get(name)},
                customdata=[[fmt_percent(r["share"]), fmt_number(r["avg_lead_score"])] for r in rows],
                hovertemplate="%{y} customers (%{customdata[0]}), avg score %{customdata[1]}",
            )
        s.figure = _layout(
            fig,
            yaxis={"title": "customers", "rangemode": "tozero"},
            xaxis={"type": "date", "tickformat": "%b %-d"},
            hovermode="x unified",
        )
    latest = days[-1]
    s.tables.append(
        table(
            "lead_score_trend",
            [r for r in trend if r["as_of_date"] == latest],
            [
                Column("as_of_date", "Day", "text"),
                Column("lead_segment", "Segment", "text"),
                Column("customers", "Customers", "count"),
                Column("share", "Share", "percent"),
                Column("avg_lead_score", "Avg lead score", "number"),
            ],
            ["as_of_date", "lead_segment"],
            caption="The latest recorded day",
        )
    )
    return s


def accuracy_section(accuracy: list[dict]) -> Section:
    s = Section(
        "prediction_accuracy",
        "Visit-prediction accuracy",
        "How far each predicted next visit was from the visit that came, by the month it was made in.",
    )
    months = [r for r in accuracy if r["month"] is not None]
    overall = next((r for r in accuracy if r["month"] is None), None)
    if overall is not None and overall["predictions"]:
        s.tiles = (
            '<div class="tiles small">'
            + tile("prediction_count", "Predictions", overall["predictions"], "count")
            + tile(
                "prediction_mean_abs_error_days",
                "Mean error (days)",
                overall["mean_abs_error_days"],
                "number",
            )
            + tile(
                "prediction_median_abs_error_days",
                "Median error (days)",
                overall["median_abs_error_days"],
                "number",
            )
            + tile("prediction_within_7_days", "Within 7 days", overall["within_7_days"], "percent")
            + "</div>"
        )
    if not months:
        s.empty = "No customer has visited twice yet: nothing to predict from."
        return s
    x = [r["month"].isoformat() for r in months]
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=_floats(r["mean_abs_error_days"] for r in months),
        name="Mean error (days)",
        mode="lines+markers",
    )
    fig.add_scatter(
        x=x,
        y=_floats(r["median_abs_error_days"] for r in months),
        name="Median error (days)",
        mode="lines+markers",
    )
    s.figure = _layout(
        fig,
        yaxis={"title": "days off", "rangemode": "tozero"},
        xaxis={"type": "date", "tickformat": "%b %Y"},
        hovermode="x unified",
    )
    s.tables.append(
        table(
            "prediction_accuracy",
            list(reversed(months)),
            [
                Column("month", "Month", "month"),
                Column("predictions", "Predictions", "count"),
                Column("mean_abs_error_days", "Mean error (days)", "number"),
                Column("median_abs_error_days", "Median error (days)", "number"),
                Column("mean_error_days", "Bias (days)", "number"),
                Column("within_3_days", "Within 3 days", "percent"),
                Column("within_7_days", "Within 7 days", "percent"),
                Column("overdue_not_returned", "Overdue", "count"),
            ],
            ["month"],
        )
    )
    return s


def headline(counts: dict | None, today: dict | None) -> str:
    tiles = []
    if counts:
        tiles += [
            tile("total_customers", "Customers", counts["total_customers"], "count"),
            tile("active_last_30_days", "Active in the last 30 days", counts["active_last_30_days"], "count"),
            tile("new_this_month", "New this month", counts["new_this_month"], "count"),
            tile("vip_customers", "VIP", counts["vip_customers"], "count"),
            tile("customers_with_visits", "With a visit", counts["customers_with_visits"], "count"),
        ]
    if today:
        tiles += [
            tile(
                "net_revenue_today",
                "Net revenue today",
                today["net_revenue_today"],
                "money",
                f"{fmt_count(today['sales_today'])} sales",
            ),
            tile(
                "net_revenue_yesterday",
                "Yesterday",
                today["net_revenue_yesterday"],
                "money",
                f"{fmt_count(today['sales_yesterday'])} sales",
            ),
            tile(
                "change",
                "Change",
                today["change"],
                "money",
                f"{fmt_percent(today['change_ratio'])} on yesterday",
            ),
        ]
    hidden = ""
    if today:
        # The counts and the ratio behind the notes, as numbers too.
        hidden = "".join(
            f'<span hidden data-metric="{m}" data-value="{html.escape(raw(today[m]))}"></span>'
            for m in ("sales_today", "sales_yesterday", "change_ratio")
        )
    return f'<section class="tiles" id="headline" data-section="headline">{"".join(tiles)}{hidden}</section>'


# --- assembly ------------------------------------------------------------------------------------


def read(url: str, min_baskets: int = DEFAULT_MIN_BASKETS) -> dict[str, list[dict]]:
    """Every row the page shows, read in one read-only snapshot."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        data = {
            key: conn.execute(sql, {"min_baskets": min_baskets, "top": TOP_PAIRS}).fetchall()
            for key, sql in QUERIES.items()
        }
        data["clock"] = conn.execute("select now() as generated_at").fetchall()
        conn.rollback()
    return data


PAGE = Template((Path(__file__).parent / "templates" / "report.html").read_text(encoding="utf-8"))


def render_section(s: Section) -> str:
    parts = [
        f'<section class="card{" wide" if s.wide else ""}" id="{s.key}" data-section="{s.key}">',
        f"<h2>{html.escape(s.title)}</h2>",
        f'<p class="lede">{html.escape(s.lede)}</p>',
    ]
    if s.figure is not None:
        chart = s.figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            config=PLOT_CONFIG,
            div_id=f"chart-{s.key}",
            default_width="100%",
            default_height=f"{s.figure.layout.height}px",
        )
        parts.append(f'<div class="chart" data-chart="{s.key}">{chart}</div>')
    if s.empty:
        parts.append(f'<p class="empty" data-empty="{s.key}">{html.escape(s.empty)}</p>')
    if s.tiles:
        parts.append(s.tiles)
    if s.tables:
        parts.append("<details><summary>The numbers</summary>" + "".join(s.tables) + "</details>")
    parts.append("</section>")
    return "\n".join(parts)


def build(data: dict[str, list[dict]], min_baskets: int = DEFAULT_MIN_BASKETS) -> str:
    """The page, from the rows `read` returned."""
    counts = data["counts"][0] if data["counts"] else None
    today = data["today"][0] if data["today"] else None
    as_of = (today or {}).get("today") or (counts or {}).get("as_of_date")
    generated = data["clock"][0]["generated_at"]
    sections = [
        revenue_section(data["revenue"]),
        segments_section(data["segments"]),
        churn_section(data["churn"]),
        lift_section(data["lift"]),
        cross_sell_section(data["pairs"], min_baskets),
        staff_section(data["staff"]),
        trend_section(data["trend"]),
        accuracy_section(data["accuracy"]),
    ]
    return PAGE.substitute(
        title="Shop report",
        subtitle=html.escape(f"Store day {fmt_text(as_of)}" if as_of else "No data yet"),
        plotlyjs=get_plotlyjs(),
        headline=headline(counts, today),
        sections="\n".join(render_section(s) for s in sections),
        generated=html.escape(generated.strftime("%Y-%m-%d %H:%M UTC%z")),
    )


def write(url: str, out: Path, min_baskets: int = DEFAULT_MIN_BASKETS) -> Path:
    out.write_text(build(read(url, min_baskets), min_baskets), encoding="utf-8")
    return out
