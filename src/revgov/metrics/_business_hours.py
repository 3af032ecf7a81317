"""Business time between two instants, vectorized, on any engine.

Business seconds are counted with a cumulative function ``F(t)``: the business seconds from a
fixed Monday to the local wall-clock time ``t``. ``F`` is whole weeks times the working week,
plus the working days before ``t`` in its week, plus the part of ``t``'s own day inside
business hours, minus the holidays passed. The time between two instants is
``F(end) - F(start)``: no loop over days, one expression per row.

Local time: polars converts time zones itself. DuckDB and PySpark keep one time zone per
session, so there the UTC offset comes from the zone's transition table (years 2000-2040,
computed once from ``zoneinfo``), as a chain of ``when`` branches.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import narwhals as nw

from revgov.config import SLAConfig
from revgov.errors import MetricInputError
from revgov.metrics._time import epoch_seconds

__all__ = ["business_seconds_between", "local_time"]

_DAY = 86_400
_FIRST_YEAR, _LAST_YEAR = 2000, 2040


def _offset(tz: ZoneInfo, instant: datetime) -> int:
    off = instant.replace(tzinfo=UTC).astimezone(tz).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


@lru_cache(maxsize=32)
def _transitions(tz_name: str) -> tuple[int, tuple[tuple[datetime, int], ...]]:
    """The zone's offset before 2000 and each (naive UTC instant, new offset) after it."""
    tz = ZoneInfo(tz_name)
    day = datetime(_FIRST_YEAR, 1, 1)
    first = _offset(tz, day)
    current = first
    out: list[tuple[datetime, int]] = []
    end = datetime(_LAST_YEAR + 1, 1, 1)
    while day < end:
        nxt = day + timedelta(days=1)
        if _offset(tz, nxt) != current:
            lo, hi = day, nxt  # the change happens in (lo, hi]: bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(tz, mid) == current:
                    lo = mid
                else:
                    hi = mid
            hi = hi.replace(microsecond=0)
            current = _offset(tz, hi)
            out.append((hi, current))
        day = nxt
    return first, tuple(out)


def local_time(utc: nw.Expr, tz_name: str, implementation: nw.Implementation) -> nw.Expr:
    """A naive UTC datetime expression as naive wall-clock time in ``tz_name``."""
    if tz_name in ("UTC", "Etc/UTC"):
        return utc
    if implementation is nw.Implementation.POLARS:
        return (
            utc.dt.replace_time_zone("UTC").dt.convert_time_zone(tz_name).dt.replace_time_zone(None)
        )
    first, changes = _transitions(tz_name)
    if not changes:
        return utc.dt.offset_by(f"{first}s")
    chain = nw.when(utc < nw.lit(changes[0][0])).then(utc.dt.offset_by(f"{first}s"))
    for (_, off), (nxt, _) in itertools.pairwise(changes):
        chain = chain.when(utc < nw.lit(nxt)).then(utc.dt.offset_by(f"{off}s"))
    return chain.otherwise(utc.dt.offset_by(f"{changes[-1][1]}s"))


def _epoch_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _cumulative(local: nw.Expr, sla: SLAConfig, implementation: nw.Implementation) -> nw.Expr:
    """Business seconds from Monday 1969-12-29 to the naive local time ``local``."""
    hours = sla.business_hours
    start_s = hours.start.hour * 3600 + hours.start.minute * 60 + hours.start.second
    end_s = hours.end.hour * 3600 + hours.end.minute * 60 + hours.end.second
    if end_s <= start_s:
        raise MetricInputError(
            f"business hours end ({hours.end}) is not after their start ({hours.start})",
            hint="set sla.business_hours.start before sla.business_hours.end",
        )
    day_len = end_s - start_s
    working = sorted(set(hours.working_days))
    secs = epoch_seconds(local, implementation)
    day = (secs / _DAY).floor()
    monday_days = day + 3  # 1970-01-01 was a Thursday: day 0 is weekday index 3
    weeks = (monday_days / 7).floor()
    weekday = monday_days - weeks * 7  # 0 = Monday
    in_day = ((secs - day * _DAY) - start_s).clip(0, day_len)
    before = nw.when(weekday == 0).then(nw.lit(0.0))
    is_working = nw.when(weekday == 0).then(nw.lit(1 in working))
    for k in range(1, 7):
        before = before.when(weekday == k).then(nw.lit(float(sum(1 for w in working if w <= k))))
        is_working = is_working.when(weekday == k).then(nw.lit((k + 1) in working))
    total = (
        weeks * (len(working) * day_len)
        + before * day_len
        + nw.when(is_working).then(in_day).otherwise(0.0)
    )
    for h in sorted(set(sla.holidays)):
        if h.isoweekday() not in working:
            continue
        hday = float(_epoch_day(h))
        total = total - (
            nw.when(day > hday)
            .then(nw.lit(float(day_len)))
            .when(day == hday)
            .then(in_day)
            .otherwise(0.0)
        )
    return total


def business_seconds_between(
    start: nw.Expr, end: nw.Expr, sla: SLAConfig, implementation: nw.Implementation
) -> nw.Expr:
    """Business seconds from ``start`` to ``end`` (naive UTC datetimes) under ``sla``'s time
    zone, hours, working days and holidays; 0 when ``end`` is not after ``start``."""
    f_start = _cumulative(local_time(start, sla.timezone, implementation), sla, implementation)
    f_end = _cumulative(local_time(end, sla.timezone, implementation), sla, implementation)
    return nw.when(end > start).then(f_end - f_start).otherwise(0.0)
