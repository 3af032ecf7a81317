"""Elapsed business time between two timestamps, as expressions (no Python per row).

Business hours are local wall-clock hours on working days, minus holidays, in the SLA's time
zone. The approach is a cumulative "business clock": ``B(t)`` counts business seconds from
an epoch up to ``t``, so the business time between ``a`` and ``b`` is ``B(b) - B(a)``.
``B`` is integer arithmetic on the local epoch second:

* local time = UTC epoch second + the zone's offset at that instant; the offset is a
  when/then chain over the zone's transitions (from :mod:`zoneinfo`) in a window of years,
  because DuckDB frames cannot change time zone through narwhals;
* whole working days before the day = full weeks x working days per week + a per-weekday
  prefix count - holidays (on working days) before the day;
* plus the clipped seconds of the current day if it is a working day.

Epoch seconds are built from calendar parts (year, day of year, hour, minute, second), which
every engine provides, instead of a timestamp cast that some engines lack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import narwhals as nw

from revgov.errors import RuleDefinitionError
from revgov.rules._expr import is_in, lookup

if TYPE_CHECKING:
    from revgov.config import SLAConfig

Frame = nw.LazyFrame[Any]

__all__ = [
    "BusinessCalendar",
    "add_business_clock",
    "add_business_seconds_between",
    "epoch_seconds",
    "tz_transitions",
    "utc_offset_seconds",
    "year_window",
]

_DAY = 86_400
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours (local wall clock), ISO working days (Monday = 1) and holidays."""

    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(17, 0)
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise RuleDefinitionError(
                f"sla.business_hours: end {self.end} is not after start {self.start}",
                hint="overnight business hours are not supported; use e.g. start = 09:00, "
                "end = 17:00",
            )
        bad = [d for d in self.working_days if d not in range(1, 8)]
        if bad or not self.working_days:
            raise RuleDefinitionError(
                f"sla.business_hours.working_days {list(self.working_days)} must be ISO "
                "weekdays 1..7 (Monday = 1), at least one"
            )

    @classmethod
    def from_sla(cls, sla: SLAConfig) -> BusinessCalendar:
        bh = sla.business_hours
        return cls(
            timezone=sla.timezone,
            start=bh.start,
            end=bh.end,
            working_days=tuple(sorted(set(bh.working_days))),
            holidays=tuple(sorted(set(sla.holidays))),
        )

    @property
    def day_seconds(self) -> int:
        """Business seconds in one working day."""
        return _seconds(self.end) - _seconds(self.start)


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _leaps(n: nw.Expr) -> nw.Expr:
    return n // 4 - n // 100 + n // 400


def epoch_seconds(ts: nw.Expr) -> nw.Expr:
    """Seconds since 1970-01-01 UTC of a (UTC) datetime, from its calendar parts."""
    y = ts.dt.year().cast(nw.Int64())
    days = (
        (y - 1970) * 365
        + _leaps(y - 1)
        - 477  # leap days before 1970: 1969//4 - 1969//100 + 1969//400
        + ts.dt.ordinal_day().cast(nw.Int64())
        - 1
    )
    return (
        days * _DAY
        + ts.dt.hour().cast(nw.Int64()) * 3600
        + ts.dt.minute().cast(nw.Int64()) * 60
        + ts.dt.second().cast(nw.Int64())
    )


@lru_cache(maxsize=32)
def tz_transitions(timezone: str, first_year: int, last_year: int) -> tuple[tuple[int, int], ...]:
    """``(epoch_second, utc_offset_seconds)`` from the start of ``first_year`` and at every
    change of offset until the end of ``last_year``."""
    zone = ZoneInfo(timezone)

    def offset(epoch: int) -> int:
        off = datetime.fromtimestamp(epoch, zone).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    t = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    stop = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    out = [(t, offset(t))]
    while t < stop:
        nxt = t + _DAY
        if offset(nxt) != offset(t):
            lo, hi = t, nxt  # offset(lo) != offset(hi): find the first second of the new one
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == offset(lo):
                    lo = mid
                else:
                    hi = mid
            out.append((hi, offset(hi)))
        t = nxt
    return tuple(out)


def utc_offset_seconds(epoch_s: nw.Expr, timezone: str, years: tuple[int, int]) -> nw.Expr:
    """The zone's UTC offset (seconds) at each UTC epoch second, exact within ``years``
    (outside them the nearest edge's offset applies)."""
    trans = tz_transitions(timezone, *years)
    chain: nw.Expr = nw.lit(trans[0][1])
    for at, off in trans[1:]:
        chain = nw.when(epoch_s >= at).then(nw.lit(off)).otherwise(chain)
    return chain


def add_business_clock(
    frame: Frame, ts: str, out: str, cal: BusinessCalendar, *, years: tuple[int, int]
) -> Frame:
    """Add column ``out``: business seconds from the epoch up to column ``ts`` (UTC).

    Computed in stages of ``with_columns`` so that SQL engines see each intermediate once
    (one nested expression would repeat the epoch arithmetic in every CASE branch).
    """
    utc, local, day, wd = (f"{out}__utc", f"{out}__local", f"{out}__day", f"{out}__wd")
    frame = frame.with_columns(epoch_seconds(nw.col(ts)).alias(utc))
    frame = frame.with_columns(
        (nw.col(utc) + utc_offset_seconds(nw.col(utc), cal.timezone, years)).alias(local)
    )
    frame = frame.with_columns((nw.col(local) // _DAY).alias(day))
    frame = frame.with_columns(((nw.col(day) + 3) % 7).alias(wd))  # 1969-12-29 was a Monday
    working = set(cal.working_days)
    prefix = {r: sum(1 for w in working if w - 1 < r) for r in range(7)}
    weeks = (nw.col(day) + 3) // 7
    working_before = weeks * len(working) + lookup(nw.col(wd), prefix, nw.lit(0))
    holidays = sorted((h - _EPOCH).days for h in cal.holidays if h.isoweekday() in working)
    holidays_before: nw.Expr = nw.lit(0)
    for i, h in enumerate(holidays, start=1):
        holidays_before = nw.when(nw.col(day) > h).then(nw.lit(i)).otherwise(holidays_before)
    is_working = is_in(nw.col(wd) + 1, sorted(working)) & ~is_in(nw.col(day), holidays)
    length = cal.day_seconds
    sec = nw.col(local) - nw.col(day) * _DAY
    today = (
        nw.when(is_working).then((sec - _seconds(cal.start)).clip(0, length)).otherwise(nw.lit(0))
    )
    clock = (working_before - holidays_before) * length + today
    return frame.with_columns(clock.cast(nw.Int64()).alias(out)).drop(utc, local, day, wd)


def add_business_seconds_between(
    frame: Frame,
    start: str,
    end: str,
    out: str,
    cal: BusinessCalendar,
    *,
    years: tuple[int, int],
) -> Frame:
    """Add column ``out``: business seconds from ``start`` to ``end`` (0 if not after)."""
    a, b = f"{out}__a", f"{out}__b"
    frame = add_business_clock(frame, start, a, cal, years=years)
    frame = add_business_clock(frame, end, b, cal, years=years)
    diff = nw.col(b) - nw.col(a)
    return frame.with_columns(nw.when(diff > 0).then(diff).otherwise(nw.lit(0)).alias(out)).drop(
        a, b
    )


def year_window(as_of: datetime, before: int = 30, after: int = 10) -> tuple[int, int]:
    """Years whose time-zone transitions are honoured exactly, around ``as_of``."""
    return (as_of.year - before, as_of.year + after)
