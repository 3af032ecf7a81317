"""The operating cadence sections: the weekly scoreboard, the monthly pipeline review and the
quarterly reforecast, from :mod:`revgov.metrics.cadence`.

Each headline indicator becomes a key number with its previous value (last week, last month)
and the direction that is good news, so the page can say better or worse.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from revgov.metrics import monthly_pipeline_review, weekly_scoreboard
from revgov.reports import charts
from revgov.reports._format import Unit
from revgov.reports._inputs import Inputs, to_polars
from revgov.reports.document import Chart, KeyNumber, Section, Table
from revgov.reports.spine import TRAILING_MONTHS, reforecast, scenarios_section

__all__ = ["monthly_section", "quarterly_section", "weekly_section"]

_UNITS: dict[str, Unit] = {
    "people": "count",
    "deals": "count",
    "share": "share",
    "business hours": "hours",
    "days": "days",
    "currency": "currency",
    "currency per customer": "currency",
}


#: How an indicator reads on the page (others: their name with spaces).
_LABELS = {
    "icp_fit_rate": "ICP fit rate",
    "speed_to_lead_median_hours": "Median speed to lead",
    "sla_compliance_rate": "Contacted within the SLA",
    "cac": "CAC",
    "sales_cycle_median_days": "Median sales cycle",
    "marketing_sourced_share": "Marketing-sourced share",
    "marketing_influenced_share": "Marketing-influenced share",
}


def _indicators(scoreboard: pl.DataFrame, prefix: str) -> tuple[KeyNumber, ...]:
    """One key number per indicator without a dimension (per-stage rows stay in the table)."""
    out = []
    for r in scoreboard.filter(pl.col("dimension").is_null()).iter_rows(named=True):
        out.append(
            KeyNumber(
                f"{prefix}.{r['indicator']}",
                _LABELS.get(r["indicator"], r["indicator"].replace("_", " ").capitalize()),
                r["value"],
                _UNITS.get(r["unit"], "number"),
                previous=r["previous"],
                better=r["better"],
                note=f"{r['period_start']} to {r['period_end']}",
            )
        )
    return tuple(out)


def _per_stage(board: pl.DataFrame, indicator: str) -> pl.DataFrame:
    return board.filter(pl.col("indicator") == indicator).select(
        pl.col("dimension").alias("stage"), "value", "previous"
    )


def weekly_section(inp: Inputs) -> Section:
    board = to_polars(weekly_scoreboard(inp.frames, inp.config, as_of=inp.as_of))
    chart_list = []
    for indicator, unit, title in (
        ("step_conversion", "share", "Stage conversion"),
        ("time_in_stage_median_days", "days", "Median days in stage"),
    ):
        rows = _per_stage(board, indicator)
        if rows.height:
            c, d = charts.grouped_change(rows, category="stage", unit=unit, title=title, what=title)  # type: ignore[arg-type]
            chart_list.append(Chart(f"weekly_{indicator}", title, d, "scoreboard", c))
    notes = []
    if board.filter(pl.col("value").is_null()).height:
        missing = board.filter(pl.col("value").is_null())["indicator"].unique().to_list()
        notes.append(
            "No value this week for "
            + ", ".join(sorted(missing))
            + ": the week had nothing these indicators measure (no new MQLs, or none "
            "contacted by the end of the week)."
        )
    return Section(
        id="weekly",
        title="Weekly scoreboard",
        intro="The leading indicators of the week ending at the as-of moment, each against "
        "the week before: demand quality (new people, ICP fit), speed to contact, pipeline "
        "created, and stage conversion and time in stage of the deals that entered in the "
        "last 28 days.",
        key_numbers=_indicators(board, "weekly"),
        tables=(Table("scoreboard", "Indicators against last week", board),),
        charts=tuple(chart_list),
        notes=tuple(notes),
    )


def monthly_section(inp: Inputs) -> Section:
    review = monthly_pipeline_review(inp.frames, inp.config, as_of=inp.as_of)
    summary = to_polars(review.summary)
    tables = [Table("summary", f"The month of {review.month} against the month before", summary)]
    chart_list: list[Chart] = []
    notes: list[str] = []
    if review.conversion is not None:
        conv = inp.since(to_polars(review.conversion), TRAILING_MONTHS)
        tables.append(
            Table(
                "conversion",
                "Stage conversion by entry cohort",
                conv,
                units={"step_conversion": "share", "cumulative_conversion": "share"},
            )
        )
        c, d = charts.heatmap(
            conv,
            value="cumulative_conversion",
            title="Conversion by cohort",
            what="Share of each monthly cohort reaching each stage",
        )
        chart_list.append(Chart("conversion_cohorts", "Conversion by cohort", d, "conversion", c))
    else:
        notes.append("Conversion and leakage: the snapshot has no stage history.")
    if review.leakage is not None:
        tables.append(Table("leakage", "Where the funnel leaks", to_polars(review.leakage)))
    if review.efficiency is not None:
        eff = to_polars(review.efficiency)
        tables.append(
            Table(
                "efficiency",
                "Channel efficiency in the month",
                eff,
                units={"spend": "currency", "bookings": "currency"},
            )
        )
        c, d = charts.bar(
            eff.filter(pl.col("pipeline_per_spend").is_not_null()),
            category="channel",
            value="pipeline_per_spend",
            unit="ratio",
            title="Pipeline per unit of spend",
            what="Pipeline per unit of spend",
        )
        chart_list.append(Chart("efficiency", "Channel efficiency", d, "efficiency", c))
    else:
        notes.append("Efficiency: the snapshot has no spend.")
    if review.attribution is not None:
        attr = _top_attribution(to_polars(review.attribution))
        tables.append(
            Table(
                "attribution",
                "Campaign credit (linear model, top 20)",
                attr,
                total_rows=to_polars(review.attribution).height,
                note="directional: see docs/metrics.md, attribution",
            )
        )
    return Section(
        id="monthly",
        title="Monthly pipeline review",
        intro=f"The last complete month ({review.month}) against the month before: pipeline "
        "created, conversion, leakage and efficiency.",
        key_numbers=_indicators(summary, "monthly"),
        tables=tuple(tables),
        charts=tuple(chart_list),
        notes=tuple(notes),
    )


def _top_attribution(frame: pl.DataFrame, n: int = 20) -> pl.DataFrame:
    linear = frame.filter(pl.col("model") == "linear") if "model" in frame.columns else frame
    return linear.sort("attributed_pipeline", descending=True, nulls_last=True).head(n)


def quarterly_section(inp: Inputs) -> tuple[Section, Section]:
    """The reforecast's tables, and the scenario bands drawn from the same fit."""
    fc = reforecast(inp)
    tables: list[Table] = []
    names: dict[str, Any] = fc.tables()
    for name, title in (
        ("assumptions", "Fitted assumptions (trailing year)"),
        ("forward", "Expected bookings per month and scenario"),
        ("backward", "What the target needs, per scenario"),
    ):
        if name in names:
            tables.append(Table(name, title, to_polars(names[name])))
    notes = (
        ()
        if "backward" in names
        else ("No bookings target for the forecast months: no backward plan.",)
    )
    section = Section(
        id="reforecast",
        title="Quarterly reforecast",
        intro="The funnel model refitted as of this moment: the assumptions, the forward "
        "forecast from the open pipeline, and the backward plan from the target.",
        tables=tuple(tables),
        notes=notes,
    )
    return section, scenarios_section(inp, fc)
