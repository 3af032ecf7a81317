"""The business calendar: working hours on working days, minus holidays, in one time zone.

One definition serves everything that measures business time: the SLA rules of the audit,
the speed-to-lead KPIs and the demo generator (which plants leads inside business hours and
late touches two business days on). :class:`BusinessCalendar` holds the calendar and checks
its invariants (:func:`calendar_problem`, which the ``[sla]`` config model runs at load);
:meth:`BusinessCalendar.add_business_seconds` measures business time between two columns of a
frame (:mod:`revgov.definitions.business_time`), and the demo's day arithmetic reads
:attr:`BusinessCalendar.weekmask`.

This module imports no frame library, so validating a config stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revgov.errors import ConfigValidationError, RevgovError

if TYPE_CHECKING:
    from revgov.config import SLAConfig

__all__ = [
    "YEARS",
    "BusinessCalendar",
    "CalendarProblem",
    "calendar_problem",
    "tz_transitions",
]

YEARS = (1970, 2100)
"""UTC years whose zone changes are honoured exactly (widened to cover every holiday)."""

_US = 1_000_000
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class CalendarProblem:
    """Why a calendar cannot be used: the ``[sla]`` key at fault, what is wrong, the fix."""

    key: tuple[str, ...]
    message: str
    hint: str


def calendar_problem(
    timezone: str, start: time, end: time, working_days: tuple[int, ...] | list[int]
) -> CalendarProblem | None:
    """Why this time zone, opening hours and working days cannot make a calendar (None if
    they can): an unknown zone, hours with a UTC offset, hours that run past midnight
    (17:00-09:00), weekdays outside 1..7 or none at all."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return CalendarProblem(
            ("timezone",),
            f"unknown time zone {timezone!r}: not a known IANA time zone",
            "use a name such as America/New_York, Europe/London or UTC",
        )
    if start.tzinfo is not None or end.tzinfo is not None:
        return CalendarProblem(
            ("business_hours",),
            f"business hours {start}-{end} carry a UTC offset",
            "business hours are wall-clock times in sla.timezone: write 09:00",
        )
    if end <= start:
        return CalendarProblem(
            ("business_hours", "end"),
            f"end {end} is not after start {start} (business hours cannot run past midnight)",
            "set start before end, e.g. start = 09:00, end = 17:00",
        )
    if not working_days or any(d not in range(1, 8) for d in working_days):
        return CalendarProblem(
            ("business_hours", "working_days"),
            f"working_days {list(working_days)} must be ISO "
            "weekdays 1..7 (Monday = 1), at least one",
            "e.g. working_days = [1, 2, 3, 4, 5] for Monday to Friday",
        )
    return None


def _us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US + t.microsecond


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours (local wall clock in ``timezone``), ISO working days (Monday = 1) and
    holidays. Invalid values raise :class:`~revgov.errors.ConfigValidationError`."""

    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(17, 0)
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        problem = calendar_problem(self.timezone, self.start, self.end, self.working_days)
        if problem is not None:
            where = ".".join(("sla", *problem.key))
            raise ConfigValidationError(f"{where}: {problem.message}", hint=problem.hint)

    @classmethod
    def from_sla(cls, sla: SLAConfig) -> BusinessCalendar:
        """The calendar of a ``[sla]`` table (validated when the config was loaded)."""
        bh = sla.business_hours
        return cls(
            timezone=sla.timezone,
            start=bh.start,
            end=bh.end,
            working_days=tuple(sorted(set(bh.working_days))),
            holidays=tuple(sorted(set(sla.holidays))),
        )

    def add_business_seconds(
        self,
        frame: Any,
        start: str,
        end: str,
        out: str,
        *,
        error: type[RevgovError] = RevgovError,
    ) -> Any:
        """``frame`` (a narwhals LazyFrame) with column ``out``: business seconds from column
        ``start`` to column ``end`` under this calendar; see
        :func:`revgov.definitions.business_time.add_business_seconds_between`."""
        from revgov.definitions.business_time import add_business_seconds_between

        return add_business_seconds_between(frame, start, end, out, self, error=error)

    @property
    def day_seconds(self) -> int:
        """Business seconds in one working day (whole seconds)."""
        return self.day_us // _US

    @property
    def start_us(self) -> int:
        return _us(self.start)

    @property
    def day_us(self) -> int:
        """Business microseconds in one working day."""
        return _us(self.end) - _us(self.start)

    @property
    def open_minute(self) -> int:
        """Minutes after local midnight at which business hours start."""
        return self.start.hour * 60 + self.start.minute

    @property
    def close_minute(self) -> int:
        """Minutes after local midnight at which business hours end."""
        return self.end.hour * 60 + self.end.minute

    @property
    def weekmask(self) -> str:
        """Working days as numpy's week mask, Monday first (``"1111100"``)."""
        return "".join("1" if d in self.working_days else "0" for d in range(1, 8))

    @property
    def weekdays(self) -> tuple[int, ...]:
        """Working days as 0-based weekday numbers (Monday = 0), sorted."""
        return tuple(sorted({d - 1 for d in self.working_days}))

    @cached_property
    def holiday_days(self) -> tuple[int, ...]:
        """Holidays on working days, as days since 1970-01-01, sorted (others change nothing)."""
        days = {(h - _EPOCH).days for h in self.holidays if h.isoweekday() in self.working_days}
        return tuple(sorted(days))

    def years(self) -> tuple[int, int]:
        """The table's UTC years: :data:`YEARS`, widened to cover every holiday."""
        lo, hi = YEARS
        if self.holidays:
            lo, hi = min(lo, min(self.holidays).year), max(hi, max(self.holidays).year)
        return lo, hi


@lru_cache(maxsize=64)
def tz_transitions(timezone: str, first_year: int, last_year: int) -> tuple[tuple[int, int], ...]:
    """``(epoch_second, utc_offset_seconds)`` at the start of ``first_year`` and at every
    change of offset until the end of ``last_year`` (UTC years)."""
    zone = ZoneInfo(timezone)

    def offset(epoch: int) -> int:
        off = datetime.fromtimestamp(epoch, zone).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    t = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    stop = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    current = offset(t)
    out = [(t, current)]
    # Zones change offset at most once a day: scan daily, then bisect to the second.
    while t < stop:
        nxt = t + 86_400
        if (new := offset(nxt)) != current:
            lo, hi = t, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            out.append((hi, offset(hi)))
            current = new
        t = nxt
    return tuple(out)
