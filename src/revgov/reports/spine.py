"""The KPI sections: the funnel, time in stage, speed to lead against the SLA, pipeline created
and coverage over time, and the scenario bands of the funnel model.

Every number comes from a public KPI function (through :func:`revgov.metrics.compute`) or the
quarterly reforecast; this module only chooses the periods shown and lays the tables out.
"""

from __future__ import annotations

import polars as pl

from revgov.metrics import Reforecast, quarterly_reforecast
from revgov.reports import charts
from revgov.reports._inputs import Inputs, to_polars
from revgov.reports.document import Chart, KeyNumber, Section, Table

__all__ = [
    "TRAILING_MONTHS",
    "funnel_section",
    "pipeline_section",
    "reforecast",
    "scenario_table",
    "scenarios_section",
    "speed_section",
    "time_in_stage_section",
]

#: Months of history the time series show (the KPIs themselves use every row up to as_of).
TRAILING_MONTHS = 12
#: Months of coverage shown from the current one on.
COVERAGE_MONTHS = 6


def funnel_section(inp: Inputs) -> Section:
    notes: list[str] = []
    conv = inp.kpi("stage_conversion", notes)
    if conv is None or conv.height == 0:
        return Section("funnel", "Funnel", _FUNNEL_INTRO, notes=tuple(notes or ["No stages."]))
    conv = conv.sort("stage_order")
    won = conv.row(conv.height - 1, named=True)
    chart, desc = charts.funnel(conv)
    return Section(
        id="funnel",
        title="Funnel: conversion between stages",
        intro=_FUNNEL_INTRO,
        key_numbers=(
            KeyNumber("funnel_entered", "Deals entering the funnel", conv["reached"][0], "count"),
            KeyNumber(
                "funnel_win_conversion",
                f"Entered deals reaching {won['stage']}",
                won["cumulative_conversion"],
                "share",
                better="higher",
            ),
        ),
        tables=(
            Table(
                "funnel",
                "Deals reaching each stage",
                conv,
                units={"step_conversion": "share", "cumulative_conversion": "share"},
            ),
        ),
        charts=(Chart("funnel", "Funnel", desc, "funnel", chart),),
        notes=tuple(notes),
    )


_FUNNEL_INTRO = (
    "Every deal created up to the as-of moment, by the furthest stage it reached (a skipped "
    "stage counts as passed). Step conversion is the share of the stage before that reached "
    "the stage; deals still open have not finished converting."
)


def time_in_stage_section(inp: Inputs) -> Section:
    notes: list[str] = []
    tis = inp.kpi("time_in_stage", notes)
    intro = (
        "How long deals stay in each open stage, from the stage history: a stay ends at the "
        "next stage change; one still open counts up to the as-of moment."
    )
    if tis is None or tis.height == 0:
        return Section("time_in_stage", "Time in stage", intro, notes=tuple(notes))
    chart, desc = charts.time_in_stage(tis)
    days = {"mean_days": "days", "median_days": "days", "p75_days": "days", "p90_days": "days"}
    return Section(
        id="time_in_stage",
        title="Time in stage",
        intro=intro,
        tables=(Table("time_in_stage", "Days in stage", tis, units=days),),  # type: ignore[arg-type]
        charts=(Chart("time_in_stage", "Time in stage", desc, "time_in_stage", chart),),
        notes=tuple(notes),
    )


def _sla_for(inp: Inputs, groups: list[str]) -> dict[str, float]:
    hours = inp.config.sla.speed_to_lead_hours
    default = float(hours.get("default", 4.0))
    return {g: float(hours.get(g, default)) for g in groups}


def speed_section(inp: Inputs) -> Section:
    notes: list[str] = []
    by = ["segment"] if "segment" in inp.columns("people") else None
    intro = (
        "Business hours from the moment a lead became workable to its first qualifying "
        "contact, by month and segment, against each segment's SLA; compliance is the share "
        f"contacted within it. Months shown: the last {TRAILING_MONTHS}."
    )
    speed = inp.kpi("speed_to_lead", notes, by=by, every="1mo")
    comp = inp.kpi("sla_compliance_rate", notes, by=by, every="1mo")
    if speed is None or comp is None:
        return Section("speed_to_lead", "Speed to lead", intro, notes=tuple(notes))
    group = pl.col("segment").fill_null("(no segment)") if by else pl.lit("all")
    keys = ["period", *(by or [])]
    table = (
        inp.since(speed, TRAILING_MONTHS)
        .join(comp.select(*keys, "sla_compliance_rate"), on=keys, how="left", nulls_equal=True)
        .with_columns(group.alias("group"))
    )
    sla = _sla_for(inp, sorted(table["group"].unique().to_list()))
    table = table.with_columns(pl.col("group").replace_strict(sla).alias("sla_hours"))
    table = table.select("period", "group", pl.exclude("period", "group", *(by or []))).sort(
        "period", "group"
    )
    overall_hours = inp.headline("speed_to_lead", notes)
    overall_rate = inp.headline("sla_compliance_rate", notes)
    c1, d1 = charts.speed_to_lead(table, sla)
    c2, d2 = charts.timeseries(
        table,
        value="sla_compliance_rate",
        unit="share",
        color="group",
        mark="line",
        title="Leads contacted within the SLA",
        what="Share contacted within the SLA",
    )
    hours = {c: "hours" for c in table.columns if c.endswith("_hours")}
    return Section(
        id="speed_to_lead",
        title="Speed to lead against the SLA",
        intro=intro,
        key_numbers=(
            KeyNumber(
                "speed_to_lead_median_hours",
                "Median speed to lead",
                overall_hours,
                "hours",
                better="lower",
                note="business hours, whole snapshot",
            ),
            KeyNumber(
                "sla_compliance_rate",
                "Leads contacted within the SLA",
                overall_rate,
                "share",
                better="higher",
                note="whole snapshot",
            ),
        ),
        tables=(
            Table(
                "speed_to_lead",
                "Speed to lead and SLA compliance by month",
                table,
                units={**hours, "sla_compliance_rate": "share", "contact_rate": "share"},  # type: ignore[dict-item]
            ),
        ),
        charts=(
            Chart("speed_to_lead", "Speed to lead against the SLA", d1, "speed_to_lead", c1),
            Chart("sla_compliance", "SLA compliance", d2, "speed_to_lead", c2),
        ),
        notes=tuple(notes),
    )


def pipeline_section(inp: Inputs) -> Section:
    notes: list[str] = []
    intro = (
        f"Pipeline created per month (the last {TRAILING_MONTHS}), and for this month and the "
        f"{COVERAGE_MONTHS - 1} ahead the coverage of the remaining bookings target by the open "
        "pipeline expected to close in the month."
    )
    created = inp.kpi("pipeline_created", notes, every="1mo")
    tables: list[Table] = []
    chart_list: list[Chart] = []
    keys: list[KeyNumber] = []
    if created is not None:
        created = inp.since(created, TRAILING_MONTHS).sort("period")
        tables.append(
            Table(
                "pipeline_created",
                "Pipeline created per month",
                created,
                units={"pipeline_amount": "currency"},
            )
        )
        c, d = charts.timeseries(
            created,
            value="pipeline_amount",
            unit="currency",
            title="Pipeline created",
            what="Pipeline created",
        )
        chart_list.append(Chart("pipeline_created", "Pipeline created", d, "pipeline_created", c))
        keys.append(
            KeyNumber(
                "pipeline_created_trailing",
                f"Pipeline created, last {TRAILING_MONTHS} months",
                float(created["pipeline_amount"].fill_null(0).sum()),
                "currency",
            )
        )
    coverage = inp.kpi("pipeline_coverage", notes, every="1mo") if inp.present("targets") else None
    if coverage is None and not inp.present("targets"):
        notes.append("Pipeline coverage: the snapshot has no targets.")
    if coverage is not None and coverage.height:
        # Coverage looks ahead: open pipeline closing in a past month is zero by definition.
        month = inp.as_of.date().replace(day=1)
        upcoming = coverage.filter(pl.col("period") >= pl.lit(month)).sort("period")
        upcoming = upcoming.head(COVERAGE_MONTHS)
        required = inp.headline("required_coverage", notes)
        if upcoming.height:
            tables.append(
                Table(
                    "coverage",
                    "Coverage of this month and the months ahead",
                    upcoming,
                    units={
                        "coverage": "ratio",
                        "target": "currency",
                        "booked": "currency",
                        "remaining": "currency",
                        "pipeline": "currency",
                    },
                )
            )
            c, d = charts.coverage_line(upcoming, required)
            chart_list.append(Chart("coverage", "Pipeline coverage", d, "coverage", c))
            row = upcoming.row(0, named=True)
            keys.append(
                KeyNumber(
                    "coverage_current_month",
                    f"Coverage, {row['period']}",
                    row["coverage"],
                    "ratio",
                    better="higher",
                    note="open pipeline / remaining target",
                )
            )
        else:
            notes.append(f"Pipeline coverage: no bookings target from {month} on.")
        if required is not None:
            keys.append(
                KeyNumber("required_coverage", "Coverage the win rate requires", required, "ratio")
            )
    return Section(
        "pipeline",
        "Pipeline created and coverage",
        intro,
        tuple(keys),
        tuple(tables),
        tuple(chart_list),
        tuple(notes),
    )


def reforecast(inp: Inputs) -> Reforecast:
    """The quarterly reforecast of the snapshot, per segment when deals have one."""
    by = "segment" if "segment" in inp.columns("opportunities") else None
    if by and inp.present("people") and by not in inp.columns("people"):
        by = None
    return quarterly_reforecast(inp.frames, inp.config, as_of=inp.as_of, by=by)


def scenario_table(forward: pl.DataFrame) -> pl.DataFrame:
    """Expected bookings per month, one column per scenario (summed over groups)."""
    return (
        forward.group_by("period", "scenario")
        .agg(pl.col("expected_bookings").sum())
        .pivot(on="scenario", index="period", values="expected_bookings")
        .sort("period")
        .select("period", *[s for s in ("conservative", "base", "aggressive")])
    )


def scenarios_section(inp: Inputs, result: Reforecast | None = None) -> Section:
    intro = (
        "The funnel model refitted on the trailing year: expected bookings from today's open "
        "pipeline in the conservative, base and aggressive cases (the spread of the monthly "
        "win rates, deal sizes and cycles)."
    )
    notes: list[str] = []
    if not inp.present("opportunities"):
        return Section("scenarios", "Scenario bands", intro, notes=("No opportunities.",))
    fc = result or reforecast(inp)
    forward = to_polars(fc.forward)
    if forward.height == 0:
        notes.append("No open deal is expected to close in the forecast months.")
        return Section("scenarios", "Scenario bands", intro, notes=tuple(notes))
    bands = scenario_table(forward)
    chart, desc = charts.scenario_bands(bands)
    keys = tuple(
        KeyNumber(
            f"expected_bookings_{s}",
            f"Expected bookings, next {bands.height} months ({s})",
            float(bands[s].fill_null(0).sum()),
            "currency",
        )
        for s in ("conservative", "base", "aggressive")
    )
    money = {s: "currency" for s in ("conservative", "base", "aggressive")}
    return Section(
        id="scenarios",
        title="Scenario bands",
        intro=intro,
        key_numbers=keys,
        tables=(Table("scenarios", "Expected bookings per month", bands, units=money),),  # type: ignore[arg-type]
        charts=(Chart("scenarios", "Scenario bands", desc, "scenarios", chart),),
        notes=tuple(notes),
    )
