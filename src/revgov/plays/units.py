"""How a play KPI's values and lifts read: shares in %, lifts in points, hours, currency."""

from __future__ import annotations

import math

from revgov._typing import PlayKPI

__all__ = ["fmt_value"]

_SHARES: frozenset[PlayKPI] = frozenset(
    {
        "meeting_rate",
        "lead_to_opportunity",
        "mql_to_sql",
        "opportunity_to_win",
        "stage_conversion",
    }
)


def fmt_value(kpi: PlayKPI, value: float, *, signed: bool = False) -> str:
    """A KPI value (or lift, ``signed``) in its unit: shares in % (lifts in points), speed
    to lead in business hours, time in stage in days, pipeline in currency."""
    if value is None or math.isnan(value):
        return "n/a"
    sign = "+" if signed else ""
    if kpi in _SHARES:
        return f"{value * 100:{sign}.1f}{' pts' if signed else '%'}"
    if kpi == "speed_to_lead":
        return f"{value:{sign},.1f} h"
    if kpi == "time_in_stage":
        return f"{value:{sign},.1f} days"
    return f"{value:{sign},.0f}"
