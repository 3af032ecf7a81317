"""The plays section of the weekly report: each active play's running lift with its interval,
read week by week since its start, and its verdict (docs/plays.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from revgov._typing import PlayKPI
from revgov.config import PlayConfig
from revgov.plays import play_lift, running_lifts
from revgov.plays.render import verdict_line
from revgov.reports import charts
from revgov.reports._format import Unit
from revgov.reports._inputs import Inputs
from revgov.reports.document import Chart, KeyNumber, Section, Table

__all__ = ["RESAMPLES", "active_plays", "plays_section"]

#: Bootstrap resamples of each weekly reading (the latest reading uses the play's own 1,000).
RESAMPLES = 300

_UNITS: dict[PlayKPI, Unit] = {
    "meeting_rate": "share",
    "lead_to_opportunity": "share",
    "mql_to_sql": "share",
    "opportunity_to_win": "share",
    "speed_to_lead": "hours",
    "pipeline_created": "currency",
    "stage_conversion": "share",
    "time_in_stage": "days",
}


def active_plays(plays: list[PlayConfig], as_of: datetime) -> list[PlayConfig]:
    """The plays started by ``as_of`` whose records are still being read (not ended more
    than ``window_days`` ago)."""
    day = as_of.date()
    return [
        p
        for p in plays
        if p.start <= day and (p.end is None or day <= p.end + timedelta(days=p.window_days))
    ]


def plays_section(inp: Inputs) -> Section | None:
    """None when no play is active."""
    active = active_plays(list(inp.config.plays), inp.as_of)
    if not active:
        return None
    rows, tables, chart_list, numbers, notes = [], [], [], [], []
    for play in active:
        unit = _UNITS[play.primary_kpi]
        latest = play_lift(play, inp.ready, config=inp.config, as_of=inp.as_of)
        weekly = running_lifts(
            play, inp.ready, config=inp.config, as_of=inp.as_of, resamples=RESAMPLES
        )
        p = latest.primary
        rows.append(
            {
                "play": play.name,
                "owner": play.owner,
                "kpi": play.primary_kpi,
                "control": play.control.kind,
                "lift": p.lift,
                "lower": p.lower,
                "upper": p.upper,
                "probability_positive": p.probability_positive,
                "play_records": p.play_records,
                "control_records": p.control_records,
                "verdict": latest.verdict,
                "days_needed": latest.days_needed,
            }
        )
        numbers.append(
            KeyNumber(
                f"plays.{play.name}.lift",
                f"{play.name}: lift in {play.primary_kpi.replace('_', ' ')}",
                p.lift,
                unit,
                note=f"{latest.confidence:.0%} interval {p.lower:.4g} to {p.upper:.4g}; "
                f"{latest.verdict.replace('_', ' ')}",
            )
        )
        tables.append(Table(f"lift_{play.name}", f"{play.name}: lift week by week", weekly))
        title = f"{play.name}: lift in {play.primary_kpi.replace('_', ' ')}"
        chart, desc = charts.play_lift(
            weekly, title=title, unit=unit, min_lift=play.decision.min_lift
        )
        chart_list.append(Chart(f"play_{play.name}", title, desc, f"lift_{play.name}", chart))
        notes.append(f"{play.name}: {verdict_line(latest)}")
        notes += [f"{play.name}: {w}" for w in latest.warnings]
    summary = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("lift", "lower", "upper", "probability_positive").fill_nan(None)
    )
    return Section(
        id="plays",
        title="Active plays",
        intro="Each play running this week: its primary KPI in the play against its control, "
        "the lift with its interval as read each week since the start, and the verdict of "
        "its decision rule (scale, keep running, stop).",
        key_numbers=tuple(numbers),
        tables=(Table("plays", "Active plays and their verdicts", summary), *tables),
        charts=tuple(chart_list),
        notes=tuple(notes),
    )
