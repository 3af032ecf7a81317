"""A play's lift and plan in words: the lines the terminal prints and the Markdown the
reports include (one wording for both)."""

from __future__ import annotations

import math

from revgov.plays.lift import KPILift, PlayLift
from revgov.plays.plan import PlayPlan
from revgov.plays.units import fmt_value

__all__ = [
    "VERDICT_WORDS",
    "fmt_value",
    "lift_markdown",
    "lift_rows",
    "plan_lines",
    "verdict_line",
]

#: How each verdict reads.
VERDICT_WORDS = {"scale": "SCALE", "keep_running": "KEEP RUNNING", "stop": "STOP"}


def lift_rows(lift: PlayLift) -> list[tuple[str, str, str, str, str, str, str]]:
    """One row per KPI (the primary first): KPI, play, control, lift, interval, P(lift > 0),
    records in play / control."""
    rows = []
    for k in (lift.primary, *lift.guardrails):
        rows.append(_row(k, lift.confidence))
    return rows


def _row(k: KPILift, confidence: float) -> tuple[str, str, str, str, str, str, str]:
    lower, upper = fmt_value(k.kpi, k.lower, signed=True), fmt_value(k.kpi, k.upper, signed=True)
    # The unit once: "+5.9 to +12.8 pts".
    unit = upper.partition(" ")[2]
    interval = f"{lower.removesuffix(' ' + unit) if unit else lower} to {upper}"
    chance = "n/a" if math.isnan(k.probability_positive) else f"{k.probability_positive:.0%}"
    name = ("guardrail " if k.max_harm is not None else "") + k.kpi
    return (
        name,
        fmt_value(k.kpi, k.play_value),
        fmt_value(k.kpi, k.control_value),
        fmt_value(k.kpi, k.lift, signed=True),
        interval,
        chance,
        f"{k.play_records:,}/{k.control_records:,}",
    )


def verdict_line(lift: PlayLift) -> str:
    """``VERDICT: reason`` (and the days still needed while it keeps running)."""
    line = f"{VERDICT_WORDS[lift.verdict]}: {'; '.join(lift.reasons)}"
    if lift.verdict == "keep_running" and lift.days_needed is not None:
        days = lift.days_needed
        line += f" (about {days:,} more days"
        # A wait longer than a year says the segment is too small to ever show the lift.
        line += (
            "; longer than a year: the segment may be too small to show it)" if days > 365 else ")"
        )
    return line


def lift_markdown(lift: PlayLift, *, heading: str = "###") -> str:
    """The play as a Markdown section: verdict, the KPI table, the pre-trend and warnings."""
    level = f"{lift.confidence:.0%}"
    head = (
        "| KPI | play | control | lift | "
        f"{level} interval | P(lift > 0) | records (play / control) |"
    )
    lines = [
        f"{heading} Play `{lift.play}` ({lift.owner}; {lift.control} control)",
        "",
        f"**{verdict_line(lift)}**",
        "",
        head,
        "|---|---|---|---|---|---|---|",
        *("| " + " | ".join(r) + " |" for r in lift_rows(lift)),
        "",
    ]
    if lift.pre_trend is not None:
        lines += [f"- {lift.pre_trend.reason}"]
    lines += [
        f"- {w}" for w in lift.warnings if lift.pre_trend is None or w != lift.pre_trend.reason
    ]
    return "\n".join(lines).rstrip() + "\n"


def plan_lines(plan: PlayPlan) -> list[str]:
    """What ``revgov play plan`` prints."""
    kpi = plan.kpi
    lines = [
        f"plan for play {plan.play!r} on {plan.kpi}, from the {plan.history_weeks} weeks "
        "before it:",
        f"  base {fmt_value(kpi, plan.base_rate)}, standard deviation "
        f"{fmt_value(kpi, plan.std_dev)} per record, {plan.records_per_week:,.1f} records a week"
        + (
            f" ({plan.control_records_per_week:,.1f} in the comparison)"
            if plan.control_records_per_week is not None
            else ""
        ),
        f"  to detect {fmt_value(kpi, plan.min_lift, signed=True)} at {plan.confidence:.0%} "
        f"confidence with {plan.power:.0%} power:",
    ]
    if plan.records_needed is None or plan.weeks_needed is None:
        lines.append("  cannot be planned (see the warnings)")
    else:
        lines.append(
            f"  {plan.records_needed:,} records, {plan.weeks_needed:.1f} weeks of entries; "
            f"read it on {plan.read_on}"
        )
    lines += [f"  warning: {w}" for w in plan.warnings]
    return lines
