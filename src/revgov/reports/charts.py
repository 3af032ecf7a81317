"""The report's charts as Vega-Altair charts, each with its text alternative.

Every builder takes a section table (a polars frame) and returns ``(chart, description)``:
the description says in words what the chart shows (the numbers a reader would take from
it), for screen readers, print and anyone who cannot see the chart. Charts set no colours
for text, axes or background: the HTML page's stylesheet gives them for light mode, dark
mode and print, so one spec serves all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from revgov.reports._format import Unit, display

if TYPE_CHECKING:
    import altair as alt

__all__ = [
    "SEVERITY_COLORS",
    "bar",
    "coverage_line",
    "dimension_scores",
    "funnel",
    "grouped_change",
    "heatmap",
    "play_lift",
    "scenario_bands",
    "score_trend",
    "speed_to_lead",
    "time_in_stage",
    "timeseries",
]

Built = tuple["alt.TopLevelMixin", str]

SEVERITY_COLORS = {"error": "#d64541", "warn": "#e8912d", "info": "#3f88c5"}
_MAIN = "#3f88c5"
_HEIGHT = 240


def _alt() -> Any:
    import altair as alt

    return alt


def _fmt(unit: Unit) -> str:
    """The d3 format of an axis in ``unit``."""
    return {"share": ".0%", "score": ".0%", "currency": "~s", "count": ",.0f"}.get(unit, ",.1f")


def _month_axis() -> Any:
    """Months as discrete, labelled bands ("Aug 2025"): the KPIs give one row per month."""
    alt = _alt()
    return alt.X("yearmonth(period):O", title=None, axis=alt.Axis(format="%b %Y", labelAngle=-40))


def _latest_period(frame: pl.DataFrame) -> str:
    return str(frame["period"].max()) if frame.height else "no period"


def _listing(pairs: list[tuple[str, str]], limit: int = 12) -> str:
    shown = "; ".join(f"{k}: {v}" for k, v in pairs[:limit])
    more = f"; and {len(pairs) - limit} more" if len(pairs) > limit else ""
    return shown + more


def _base(frame: pl.DataFrame, title: str, description: str) -> Any:
    alt = _alt()
    return alt.Chart(frame, title=title, description=description).properties(
        width="container", height=_HEIGHT
    )


def dimension_scores(frame: pl.DataFrame) -> Built:
    """``dimension, score`` as horizontal bars on a 0-100% axis."""
    alt = _alt()
    rows = frame.filter(pl.col("score").is_not_null())
    desc = "Score by dimension (mean pass rate of its rules): " + _listing(
        [(r["dimension"], display(r["score"], "score")) for r in rows.iter_rows(named=True)]
    )
    if rows.height:
        low = rows.sort("score").row(0, named=True)
        desc += f". Lowest: {low['dimension']} at {display(low['score'], 'score')}."
    base = _base(rows, "Score by dimension", desc).encode(
        y=alt.Y("dimension:N", sort=None, title=None),
        x=alt.X("score:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%")),
        tooltip=["dimension", alt.Tooltip("score:Q", format=".1%")],
    )
    bars = base.mark_bar(color=_MAIN)
    labels = base.mark_text(align="left", dx=4).encode(text=alt.Text("score:Q", format=".1%"))
    return (bars + labels).properties(height=max(120, 28 * rows.height)), desc


def score_trend(frame: pl.DataFrame) -> Built:
    """``run, recorded_at, series, score`` (long) as lines over the runs, oldest first."""
    alt = _alt()
    overall = frame.filter(pl.col("series") == "overall").sort("run")
    scores = overall["score"].to_list()
    if len(scores) >= 2:
        desc = (
            f"Overall score over {len(scores)} runs: from {display(scores[0], 'score')} to "
            f"{display(scores[-1], 'score')} (latest change "
            f"{_signed(scores[-1], scores[-2], 'score')})."
        )
    else:
        desc = f"Overall score of the only recorded run: {display(scores[0], 'score')}."
    chart = (
        _base(frame, "Score trend", desc)
        .mark_line(point=True)
        .encode(
            x=alt.X("run:O", title="run (oldest first)"),
            y=alt.Y("score:Q", axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None),
            strokeWidth=alt.condition(alt.datum.series == "overall", alt.value(3), alt.value(1.2)),
            tooltip=["run", "recorded_at", "series", alt.Tooltip("score:Q", format=".1%")],
        )
    )
    return chart, desc


def _signed(now: float | None, before: float | None, unit: Unit) -> str:
    if now is None or before is None:
        return "unknown"
    diff = now - before
    if unit in ("share", "score"):
        return f"{diff * 100:+.1f} points"
    return f"{diff:+,.1f}"


def funnel(frame: pl.DataFrame) -> Built:
    """``stage, stage_order, reached, step_conversion`` as bars of deals reaching each stage,
    labelled with the conversion from the stage before."""
    alt = _alt()
    rows = frame.sort("stage_order")
    pairs = []
    for r in rows.iter_rows(named=True):
        step = r["step_conversion"]
        extra = "" if step is None else f" ({display(step, 'share')} of the stage before)"
        pairs.append((r["stage"], f"{r['reached']:,}{extra}"))
    desc = "Deals reaching each stage: " + _listing(pairs) + "."
    data = rows.with_columns(
        pl.when(pl.col("step_conversion").is_null())
        .then(pl.lit(""))
        .otherwise((pl.col("step_conversion") * 100).round(1).cast(pl.String) + "%")
        .alias("label")
    )
    base = _base(data, "Funnel: deals reaching each stage", desc).encode(
        y=alt.Y("stage:N", sort=rows["stage"].to_list(), title=None),
        x=alt.X("reached:Q", title="deals"),
        tooltip=["stage", "reached", alt.Tooltip("step_conversion:Q", format=".1%")],
    )
    chart = base.mark_bar(color=_MAIN) + base.mark_text(align="left", dx=4).encode(text="label")
    return chart.properties(height=max(140, 34 * rows.height)), desc


def time_in_stage(frame: pl.DataFrame) -> Built:
    """``stage, median_days, p75_days, p90_days`` as a range per stage (median to p90, a
    tick at p75)."""
    alt = _alt()
    rows = frame.filter(pl.col("median_days").is_not_null())
    desc = "Days deals stay in each stage (median, 75th and 90th percentile): " + _listing(
        [
            (
                r["stage"],
                f"median {r['median_days']:.1f}, p75 {r['p75_days']:.1f}, p90 {r['p90_days']:.1f}",
            )
            for r in rows.iter_rows(named=True)
        ]
    )
    base = _base(rows, "Time in stage (days)", desc + ".").encode(
        y=alt.Y("stage:N", sort=None, title=None),
        tooltip=[
            "stage",
            alt.Tooltip("median_days:Q", format=".1f"),
            alt.Tooltip("p75_days:Q", format=".1f"),
            alt.Tooltip("p90_days:Q", format=".1f"),
        ],
    )
    rng = base.mark_rule(strokeWidth=6, opacity=0.35, color=_MAIN).encode(
        x=alt.X("median_days:Q", title="days"), x2="p90_days:Q"
    )
    p75 = base.mark_tick(thickness=2, size=16, color=_MAIN).encode(x="p75_days:Q")
    med = base.mark_point(filled=True, size=70, color=_MAIN).encode(x="median_days:Q")
    return (rng + p75 + med).properties(height=max(140, 30 * rows.height)), desc + "."


def speed_to_lead(frame: pl.DataFrame, sla: Mapping[str, float]) -> Built:
    """``period, group, median_hours, sla_hours`` as monthly lines per group with each group's
    SLA as a dashed rule."""
    alt = _alt()
    latest = frame.filter(pl.col("period") == pl.col("period").max())
    pairs = [
        (
            str(r["group"]),
            f"median {display(r['median_hours'], 'hours')} against an SLA of "
            f"{display(r['sla_hours'], 'hours')}",
        )
        for r in latest.iter_rows(named=True)
    ]
    month = _latest_period(latest)
    desc = f"Median business hours to first contact, {month}: " + _listing(pairs) + "."
    lines = (
        _base(frame, "Speed to lead against the SLA (business hours)", desc)
        .mark_line(point=True)
        .encode(
            x=_month_axis(),
            y=alt.Y("median_hours:Q", title="median business hours"),
            color=alt.Color("group:N", title=None),
            tooltip=["period:T", "group", alt.Tooltip("median_hours:Q", format=".2f")],
        )
    )
    rules_data = pl.DataFrame(
        {"group": list(sla), "sla_hours": [float(v) for v in sla.values()]}
    ).filter(pl.col("group").is_in(frame["group"].unique().to_list()))
    rules = (
        alt.Chart(rules_data)
        .mark_rule(strokeDash=[6, 4])
        .encode(y="sla_hours:Q", color=alt.Color("group:N"), tooltip=["group", "sla_hours"])
    )
    return (lines + rules).properties(width="container", height=_HEIGHT), desc


def timeseries(
    frame: pl.DataFrame,
    *,
    value: str,
    unit: Unit,
    title: str,
    what: str,
    color: str | None = None,
    mark: str = "bar",
) -> Built:
    """``period, value[, color]`` over time as bars (or lines)."""
    alt = _alt()
    rows = frame.filter(pl.col(value).is_not_null()).sort("period")
    if color:
        last = rows.filter(pl.col("period") == pl.col("period").max())
        pairs = [(str(r[color]), display(r[value], unit)) for r in last.iter_rows(named=True)]
        desc = f"{what}, {_latest_period(last)}: "
        desc += _listing(pairs) + "."
    else:
        pairs = [(str(r["period"]), display(r[value], unit)) for r in rows.iter_rows(named=True)]
        desc = f"{what} by period: " + _listing(pairs[-12:]) + "."
    enc: dict[str, Any] = {
        "x": _month_axis(),
        "y": alt.Y(f"{value}:Q", title=what, axis=alt.Axis(format=_fmt(unit))),
        "tooltip": ["period:T", alt.Tooltip(f"{value}:Q", format=_fmt(unit))],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=None)
        enc["tooltip"].append(color)
    base = _base(rows, title, desc)
    marked = base.mark_line(point=True) if mark == "line" else base.mark_bar(color=_MAIN)
    if mark == "line" and not color:
        marked = base.mark_line(point=True, color=_MAIN)
    return marked.encode(**enc), desc


def coverage_line(frame: pl.DataFrame, required: float | None) -> Built:
    """``period, coverage`` as a line with the required coverage as a dashed rule."""
    alt = _alt()
    chart, desc = timeseries(
        frame,
        value="coverage",
        unit="ratio",
        title="Pipeline coverage of the remaining target",
        what="Coverage (open pipeline closing in the month / remaining target)",
        mark="line",
    )
    if required is None:
        return chart, desc
    desc += f" The historical win rate requires {display(required, 'ratio')}."
    rule = (
        alt.Chart(pl.DataFrame({"required": [required]}))
        .mark_rule(strokeDash=[6, 4], color="#d64541")
        .encode(y="required:Q", tooltip=[alt.Tooltip("required:Q", format=".2f")])
    )
    return (chart + rule).properties(description=desc), desc


def scenario_bands(frame: pl.DataFrame) -> Built:
    """``period, conservative, base, aggressive`` as a band with the base case as a line."""
    alt = _alt()
    rows = frame.sort("period")
    pairs = [
        (
            str(r["period"]),
            f"base {display(r['base'], 'currency')} (conservative "
            f"{display(r['conservative'], 'currency')}, aggressive "
            f"{display(r['aggressive'], 'currency')})",
        )
        for r in rows.iter_rows(named=True)
    ]
    desc = "Expected bookings from the open pipeline by month: " + _listing(pairs) + "."
    base = _base(rows, "Scenario bands: expected bookings", desc).encode(x=_month_axis())
    band = base.mark_area(opacity=0.3, color=_MAIN).encode(
        y=alt.Y("conservative:Q", title="expected bookings", axis=alt.Axis(format="~s")),
        y2="aggressive:Q",
    )
    line = base.mark_line(point=True, color=_MAIN).encode(
        y="base:Q",
        tooltip=[
            "period:T",
            alt.Tooltip("conservative:Q", format=",.0f"),
            alt.Tooltip("base:Q", format=",.0f"),
            alt.Tooltip("aggressive:Q", format=",.0f"),
        ],
    )
    return band + line, desc


def bar(
    frame: pl.DataFrame,
    *,
    category: str,
    value: str,
    title: str,
    what: str,
    unit: Unit = "count",
    color: str | None = None,
    limit: int = 15,
) -> Built:
    """The ``limit`` largest ``value`` per ``category`` as horizontal bars."""
    alt = _alt()
    rows = frame.sort(value, descending=True, nulls_last=True).head(limit)
    pairs = [(str(r[category]), display(r[value], unit)) for r in rows.iter_rows(named=True)]
    more = f" (the {limit} largest of {frame.height})" if frame.height > limit else ""
    desc = f"{what}{more}: " + _listing(pairs, limit) + "."
    enc: dict[str, Any] = {
        "y": alt.Y(f"{category}:N", sort="-x", title=None),
        "x": alt.X(f"{value}:Q", title=what, axis=alt.Axis(format=_fmt(unit))),
        "tooltip": [category, alt.Tooltip(f"{value}:Q", format=_fmt(unit))],
    }
    if color:
        enc["color"] = alt.Color(
            f"{color}:N",
            scale=alt.Scale(domain=list(SEVERITY_COLORS), range=list(SEVERITY_COLORS.values())),
            title=color,
        )
        chart = _base(rows, title, desc).mark_bar().encode(**enc)
    else:
        chart = _base(rows, title, desc).mark_bar(color=_MAIN).encode(**enc)
    return chart.properties(height=max(120, 22 * rows.height)), desc


def grouped_change(
    frame: pl.DataFrame, *, category: str, unit: Unit, title: str, what: str
) -> Built:
    """``category, value, previous`` as pairs of bars: this period against the one before."""
    alt = _alt()
    pairs = [
        (str(r[category]), f"{display(r['value'], unit)} (before: {display(r['previous'], unit)})")
        for r in frame.iter_rows(named=True)
    ]
    desc = f"{what}, this period against the one before: " + _listing(pairs) + "."
    long = frame.select(category, pl.col("value").alias("this period"), "previous").unpivot(
        index=category, variable_name="period", value_name="v"
    )
    chart = (
        _base(long, title, desc)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", sort=None, title=None),
            yOffset=alt.YOffset("period:N", sort=["previous", "this period"]),
            x=alt.X("v:Q", title=what, axis=alt.Axis(format=_fmt(unit))),
            color=alt.Color(
                "period:N",
                sort=["previous", "this period"],
                scale=alt.Scale(range=["#9db9d6", _MAIN]),
                title=None,
            ),
            tooltip=[category, "period", alt.Tooltip("v:Q", format=_fmt(unit))],
        )
    )
    return chart.properties(height=max(140, 40 * frame.height)), desc


def heatmap(frame: pl.DataFrame, *, value: str, title: str, what: str) -> Built:
    """``period, stage, stage_order, value`` as a cohort-by-stage grid of shares."""
    alt = _alt()
    latest = frame.filter(pl.col("period") == pl.col("period").max()).sort("stage_order")
    pairs = [(r["stage"], display(r[value], "share")) for r in latest.iter_rows(named=True)]
    desc = f"{what}; latest cohort ({_latest_period(latest)}): "
    desc += _listing(pairs) + "."
    chart = (
        _base(frame, title, desc)
        .mark_rect()
        .encode(
            x=alt.X("stage:N", sort=alt.SortField("stage_order"), title=None),
            y=alt.Y("period:O", timeUnit="yearmonth", title="entry cohort"),
            color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues", domain=[0, 1])),
            tooltip=["period:T", "stage", alt.Tooltip(f"{value}:Q", format=".1%")],
        )
    )
    return chart.properties(height=max(160, 14 * frame["period"].n_unique())), desc


def play_lift(frame: pl.DataFrame, *, title: str, unit: Unit, min_lift: float) -> Built:
    """``as_of, lift, lower, upper`` (one row per weekly reading) as the lift line inside its
    interval band, with 0 and the smallest lift worth scaling as rules."""
    alt = _alt()
    read = frame.filter(pl.col("lift").is_not_null())
    if read.height:
        last = read.row(-1, named=True)
        desc = (
            f"{title}: lift over {read.height} weekly readings; latest "
            f"{display(last['lift'], unit)} (interval {display(last['lower'], unit)} to "
            f"{display(last['upper'], unit)}); worth scaling from {display(min_lift, unit)}."
        )
    else:
        desc = f"{title}: no reading yet (no records in both arms)."
    base = _base(read, title, desc).encode(x=alt.X("as_of:T", title=None))
    axis = alt.Axis(format=_fmt(unit))
    band = base.mark_area(opacity=0.25, color=_MAIN).encode(
        y=alt.Y("lower:Q", title="lift", axis=axis), y2="upper:Q"
    )
    line = base.mark_line(point=True, color=_MAIN).encode(
        y="lift:Q",
        tooltip=[
            alt.Tooltip("as_of:T", title="read on"),
            alt.Tooltip("lift:Q", format=_fmt(unit)),
            alt.Tooltip("lower:Q", format=_fmt(unit)),
            alt.Tooltip("upper:Q", format=_fmt(unit)),
            "verdict",
        ],
    )
    rules = pl.DataFrame({"y": [0.0, min_lift], "what": ["no lift", "worth scaling"]})
    marks = (
        alt.Chart(rules)
        .mark_rule(strokeDash=[4, 4])
        .encode(y="y:Q", color=alt.Color("what:N", scale=alt.Scale(range=["#888", "#2e8b57"])))
    )
    return band + line + marks, desc
