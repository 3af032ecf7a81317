"""Time helpers that give the same answer on polars, DuckDB and PySpark.

Inside a KPI every timestamp is a *naive UTC* datetime: canonical datetimes are UTC-aware,
dates become midnight, and comparisons use naive literals. Engines disagree on date
subtraction (polars gives a duration, DuckDB an integer) and PySpark has no duration
arithmetic in narwhals, so durations go through :func:`epoch_seconds`, which picks an exact
formula per engine.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import narwhals as nw

from revgov.errors import MetricInputError

__all__ = [
    "EVERY_HELP",
    "days_between",
    "epoch_seconds",
    "fiscal_every",
    "naive",
    "naive_utc",
    "parse_every",
    "period_start",
]

EVERY_HELP = (
    "use one of 1d, 1w, 1mo, 1q, 1y (1q@M and 1y@M: fiscal quarters and years of a fiscal "
    "year that starts in month M, e.g. 1q@2)"
)
_EVERY = re.compile(r"^1(d|w|mo|q|y)(?:@(\d{1,2}))?$")
_ALIASES = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
_DAY = 86_400


def parse_every(every: str | None) -> str | None:
    """Validate a period string (``1d``, ``1w``, ``1mo``, ``1q``, ``1y`` or their names).

    ``1q@M`` and ``1y@M`` are fiscal quarters and years of a fiscal year that starts in month
    ``M`` (1-12); ``@1`` is the calendar and is dropped.
    """
    if every is None:
        return None
    value = _ALIASES.get(every.strip().lower(), every.strip().lower())
    match = _EVERY.match(value)
    if not match:
        raise MetricInputError(f"unsupported period every={every!r}", hint=EVERY_HELP)
    unit, month = match.group(1), match.group(2)
    if month is None:
        return value
    if unit not in ("q", "y") or not 1 <= int(month) <= 12:
        raise MetricInputError(
            f"unsupported period every={every!r}: only quarters and years take a fiscal start "
            "month, from 1 to 12",
            hint=EVERY_HELP,
        )
    return f"1{unit}" if int(month) == 1 else f"1{unit}@{int(month)}"


def fiscal_every(every: str | None, start_month: int) -> str | None:
    """``every`` on a fiscal calendar whose year starts in ``start_month``: quarters and years
    become fiscal (``1q`` -> ``1q@M``); days, weeks and months are the same on any calendar."""
    step = parse_every(every)
    if step in ("1q", "1y"):
        return parse_every(f"{step}@{start_month}")
    return step


def naive_utc(value: datetime | date | str | None) -> datetime:
    """A moment as a naive UTC datetime: aware values are converted, naive ones are UTC,
    dates are midnight, ISO strings are parsed, and None is now."""
    if value is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise MetricInputError(
                f"cannot read {value!r} as a date or time", hint="write it as YYYY-MM-DD"
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    return datetime(value.year, value.month, value.day)


def naive(schema: Any, column: str) -> nw.Expr:
    """Column ``column`` as a naive UTC datetime expression (dates become midnight)."""
    dtype = schema[column]
    if dtype == nw.Date:
        return nw.col(column).cast(nw.Datetime("us"))
    if isinstance(dtype, nw.Datetime):
        if dtype.time_zone is None:
            return nw.col(column)
        return nw.col(column).dt.replace_time_zone(None)
    raise MetricInputError(
        f"column {column!r} is {dtype}, not a date or datetime",
        hint="type it as a date or datetime in the canonical model (the mapping layer)",
    )


def epoch_seconds(expr: nw.Expr, implementation: nw.Implementation) -> nw.Expr:
    """Seconds since 1970-01-01 of a naive datetime expression, as a float."""
    if implementation is nw.Implementation.POLARS:
        return expr.dt.timestamp("us").cast(nw.Float64) / 1_000_000
    if implementation is nw.Implementation.DUCKDB:
        micros = (expr - nw.lit(datetime(1970, 1, 1))).dt.total_microseconds()
        return micros.cast(nw.Float64) / 1_000_000
    # Calendar arithmetic from the parts: exact for dates from 1970 on, on every engine.
    y = expr.dt.year().cast(nw.Int64)
    days = (
        (y - 1970) * 365
        + (y - 1969) // 4
        - (y - 1901) // 100
        + (y - 1601) // 400
        + expr.dt.ordinal_day().cast(nw.Int64)
        - 1
    )
    secs = (
        expr.dt.hour().cast(nw.Int64) * 3600
        + expr.dt.minute().cast(nw.Int64) * 60
        + expr.dt.second().cast(nw.Int64)
    )
    return (days * _DAY + secs).cast(nw.Float64) + expr.dt.microsecond().cast(nw.Float64) / 1e6


def days_between(
    start: nw.Expr, end: nw.Expr, implementation: nw.Implementation, *, calendar: bool
) -> nw.Expr:
    """Days from ``start`` to ``end`` (naive datetimes).

    ``calendar``: whole calendar days between the two dates (the time of day is dropped);
    otherwise elapsed days as a fraction (seconds / 86,400).
    """
    s = epoch_seconds(start, implementation)
    e = epoch_seconds(end, implementation)
    if calendar:
        return ((e / _DAY).floor() - (s / _DAY).floor()).cast(nw.Int64)
    return (e - s) / _DAY


def period_start(expr: nw.Expr, every: str) -> nw.Expr:
    """The first day (a date) of the ``every`` period holding the naive datetime ``expr``.

    Weeks start on Monday (ISO). A fiscal quarter or year (``1q@M``, ``1y@M``) starts in a
    month M + 3k: the date is moved back M - 1 months, truncated on the calendar, and moved
    forward again.
    """
    if "@" in every:
        unit, month = every.split("@")
        shift = int(month) - 1
        back = expr.dt.offset_by(f"-{shift}mo").dt.truncate(unit)
        return back.dt.offset_by(f"{shift}mo").dt.date()
    if every == "1w":
        day = expr.dt.date()
        weekday = day.dt.weekday()
        out = nw.when(weekday == 1).then(day)
        for k in range(2, 8):
            # DuckDB moves a date by a datetime offset: back to a date on every engine.
            out = out.when(weekday == k).then(day.dt.offset_by(f"-{k - 1}d").dt.date())
        return out
    return expr.dt.truncate(every).dt.date()
