"""How numbers are written for people, the same way in every table: counts with thousands
separators, money with two decimals and the currency, shares as percentages, durations with
their unit. Audit, metrics and snapshot tables all format through here; JSON and CSV keep the
raw numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType

_T = TypeVar("_T", bound="RenderableType")

__all__ = [
    "MISSING",
    "cell",
    "column_unit",
    "count",
    "decimal",
    "duration",
    "first_fitting",
    "money",
    "share",
    "table_width",
    "unit_kind",
    "value",
]

#: A number that is absent (a zero denominator, nothing to measure).
MISSING = "-"


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def count(x: Any) -> str:
    """``12,345``; a fractional count keeps one decimal (``2.5``)."""
    if not _finite(x):
        return MISSING if x is None else str(x)
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}"


def decimal(x: Any, digits: int = 2) -> str:
    """``1,234.57``: a plain quantity with thousands separators."""
    if not _finite(x):
        return MISSING if x is None else str(x)
    return f"{x:,.{digits}f}"


def money(x: Any, currency: str | None = None) -> str:
    """``48,106.50 USD`` (two decimals, the company's currency when known)."""
    text = decimal(x, 2)
    return f"{text} {currency}" if currency and text != MISSING else text


def share(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.973`` is ``97.3%``."""
    if not _finite(x):
        return MISSING if x is None else str(x)
    return f"{x * 100:.{digits}f}%"


def duration(x: Any, unit: str = "days") -> str:
    """``12.5 days``, ``3.0 business hours``: one decimal and the unit."""
    if not _finite(x):
        return MISSING if x is None else str(x)
    return f"{x:,.1f} {unit}"


def unit_kind(unit: str) -> str:
    """What a KPI's unit label is, for formatting: money, share, duration, count or ratio."""
    label = unit.strip().lower()
    if label.startswith("currency"):
        return "money"
    if label == "share" or label.endswith("rate"):
        return "share"
    if label in ("days", "months", "hours", "business hours", "minutes"):
        return "duration"
    if label.startswith("ratio") or " per " in label:
        return "ratio"
    return "count"


def value(x: Any, unit: str, *, currency: str | None = None) -> str:
    """``x`` written as its unit says (a KPI's headline unit, e.g. ``currency`` or ``share``)."""
    kind = unit_kind(unit)
    if kind == "money":
        per = unit.strip().lower().partition(" per ")[2]
        text = money(x, currency)
        return f"{text} per {per}" if per and text != MISSING else text
    if kind == "share":
        return share(x)
    if kind == "duration":
        return duration(x, unit.strip())
    if kind == "ratio":
        text = decimal(x, 2)
        return f"{text}x" if unit.strip().lower().startswith("ratio") and text != MISSING else text
    return count(x)


#: Column-name endings that say a column's unit (KPI tables name their columns this way).
_SHARE_NAMES = ("rate", "share", "conversion", "ratio_pct", "pct", "probability", "coverage_share")
_MONEY_NAMES = ("amount", "bookings", "pipeline", "revenue", "value", "cost", "spend", "acv", "cac")
_DURATION_NAMES = ("days", "hours", "months")
#: Columns whose names the endings read wrong: counts and ratios ending in a money word,
#: money not ending in one (average_deal_size read 188636.76, deals_with_amount 321.00 USD).
_COLUMN_UNITS = {
    "deals_with_amount": "number",
    "pipeline_per_spend": "ratio",
    "bookings_per_spend": "ratio",
    "pipeline_per_cost": "ratio",
    "bookings_per_cost": "ratio",
    "average_deal_size": "currency",
    "velocity_per_day": "currency",
    "velocity_per_month": "currency",
    "target": "currency",
    "booked": "currency",
    "remaining": "currency",
    "new_arr": "currency",
    "gap_to_target": "currency",
    "target_bookings": "currency",
    "pipeline_needed": "currency",
    "spend_needed": "currency",
    "cost_per_mql": "currency",
    "gross_margin": "share",
    # Forecast assumptions and plan items (their tables write each row in its own unit).
    "mql_to_sql": "share",
    "sql_to_opportunity": "share",
    "mqls_per_month": "number",
    "months_of_demand": "months",
}


def column_unit(name: str) -> str:
    """The unit a KPI table column holds, from its name (``win_rate`` a share,
    ``pipeline_amount`` money, ``median_days`` a duration, anything else a plain number)."""
    lowered = name.lower()
    if lowered in _COLUMN_UNITS:
        return _COLUMN_UNITS[lowered]
    if lowered.endswith(_DURATION_NAMES):
        return lowered.rsplit("_", 1)[-1]
    if lowered.endswith(_SHARE_NAMES) or lowered.startswith(("share_", "pct_")):
        return "share"
    if lowered.endswith(_MONEY_NAMES):
        return "currency"
    return "number"


def cell(x: Any, unit: str = "number", *, currency: str | None = None) -> str:
    """Any table cell: numbers by ``unit`` (``number`` gives counts or two decimals), dates
    and times in ISO, text as it is, nothing as empty."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, datetime):
        return x.isoformat(sep=" ", timespec="minutes")
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, int | float):
        if isinstance(x, float) and not math.isfinite(x):
            return "NaN" if x != x else ("inf" if x > 0 else "-inf")
        if unit == "number":
            return count(x) if float(x).is_integer() else decimal(x, 2)
        return value(x, unit, currency=currency)
    return str(x)


def table_width(
    renderable: RenderableType,
    console: Console,
    options: ConsoleOptions | None = None,
    *,
    wrapped: bool = False,
) -> int:
    """The width ``renderable`` (a rich table) needs: with whole cells, or with ``wrapped``
    the least it needs once its wrappable cells wrap.

    Measured with no width limit: rich clamps a measurement to the width it is given, so a
    table measured against the console always seems to fit (and is then cropped)."""
    from rich.measure import Measurement

    unlimited = (options or console.options).update(max_width=10_000)
    measured = Measurement.get(console, unlimited, renderable)
    return measured.minimum if wrapped else measured.maximum


def first_fitting(
    tables: Iterable[_T],
    console: Console,
    options: ConsoleOptions | None = None,
    *,
    wrapped: bool = False,
) -> _T:
    """The first of ``tables`` (ways of laying out one table, most readable first) whose
    :func:`table_width` fits the width given (``options``, else the console's); the last
    when none does."""
    limit = (options or console.options).max_width
    last: _T | None = None
    for table in tables:
        if table_width(table, console, options, wrapped=wrapped) <= limit:
            return table
        last = table
    if last is None:
        raise ValueError("first_fitting needs at least one table")
    return last
