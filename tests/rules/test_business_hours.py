"""Business-hours elapsed time: expressions against a day-by-day Python reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import narwhals as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revgov.config import SLAConfig
from revgov.errors import RuleDefinitionError
from revgov.rules._business_hours import (
    BusinessCalendar,
    add_business_seconds_between,
    epoch_seconds,
    tz_transitions,
)

YEARS = (2018, 2032)


def reference_seconds(start: datetime, end: datetime, cal: BusinessCalendar) -> int:
    """Walk the local calendar day by day, adding each working day's overlap (wall clock)."""
    if end <= start:
        return 0
    zone = ZoneInfo(cal.timezone)
    a = start.astimezone(zone).replace(tzinfo=None)
    b = end.astimezone(zone).replace(tzinfo=None)
    total = 0
    day = a.date()
    while day <= b.date():
        if day.isoweekday() in cal.working_days and day not in cal.holidays:
            lo = max(datetime.combine(day, cal.start), a)
            hi = min(datetime.combine(day, cal.end), b)
            if hi > lo:
                total += int((hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


def compute(
    pairs: list[tuple[datetime, datetime]], cal: BusinessCalendar, *, duck: bool = False
) -> list[int]:
    df = pl.DataFrame(
        {"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]},
        schema={"a": pl.Datetime("us", "UTC"), "b": pl.Datetime("us", "UTC")},
    )
    if duck:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        frame = nw.from_native(con.from_arrow(df.to_arrow()))
    else:
        frame = nw.from_native(df.lazy())
    out = add_business_seconds_between(frame, "a", "b", "s", cal, years=YEARS)
    return [int(v) for v in out.select("s").collect(backend="polars").to_native()["s"]]


NY = BusinessCalendar(
    timezone="America/New_York",
    holidays=(date(2026, 1, 1), date(2026, 1, 19), date(2026, 7, 3)),
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        # Friday 16:00 New York (EST, UTC-5) to Monday 10:00: 1 + 1 hours.
        (utc(2026, 1, 9, 21), utc(2026, 1, 12, 15), 2.0),
        # Across the MLK holiday (Monday Jan 19): Friday 16:00 to Tuesday 10:00.
        (utc(2026, 1, 16, 21), utc(2026, 1, 20, 15), 2.0),
        # Across the March DST change (Sunday Mar 8): Friday 16:00 EST to Monday 10:00 EDT.
        (utc(2026, 3, 6, 21), utc(2026, 3, 9, 14), 2.0),
        # Inside one working day.
        (utc(2026, 5, 5, 14), utc(2026, 5, 5, 14, 30), 0.5),
        # Before opening to after closing: a full day.
        (utc(2026, 5, 5, 10), utc(2026, 5, 5, 23), 8.0),
        # End before start.
        (utc(2026, 5, 5, 16), utc(2026, 5, 5, 15), 0.0),
    ],
)
def test_known_intervals(start: datetime, end: datetime, hours: float) -> None:
    assert compute([(start, end)], NY) == [int(hours * 3600)]
    assert reference_seconds(start, end, NY) == int(hours * 3600)


def test_transitions_of_new_york() -> None:
    trans = dict(tz_transitions("America/New_York", 2026, 2026))
    # 2026-03-08 07:00 UTC (02:00 EST) to EDT; 2026-11-01 06:00 UTC (02:00 EDT) to EST.
    assert trans[int(utc(2026, 3, 8, 7).timestamp())] == -4 * 3600
    assert trans[int(utc(2026, 11, 1, 6).timestamp())] == -5 * 3600


def test_epoch_seconds_matches_python() -> None:
    moments = [utc(1970, 1, 1), utc(2000, 2, 29, 12, 34, 56), utc(2026, 12, 31, 23, 59, 59)]
    out = (
        nw.from_native(pl.DataFrame({"t": moments}).lazy())
        .select(epoch_seconds(nw.col("t")).alias("e"))
        .collect()
        .to_native()["e"]
        .to_list()
    )
    assert out == [int(m.timestamp()) for m in moments]


def test_calendar_from_sla_and_invalid_hours() -> None:
    sla = SLAConfig(timezone="Europe/Berlin", holidays=[date(2026, 12, 25)])
    cal = BusinessCalendar.from_sla(sla)
    assert cal.timezone == "Europe/Berlin"
    assert cal.holidays == (date(2026, 12, 25),)
    assert cal.day_seconds == 8 * 3600
    with pytest.raises(RuleDefinitionError, match="end 08:00:00 is not after start"):
        BusinessCalendar(start=time(9), end=time(8))
    with pytest.raises(RuleDefinitionError, match="ISO weekdays"):
        BusinessCalendar(working_days=(0, 8))


ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney", "UTC"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    start_h = draw(st.integers(0, 12))
    end_h = draw(st.integers(start_h + 1, 24))
    days = draw(st.sets(st.integers(1, 7), min_size=1))
    holidays = draw(
        st.lists(st.dates(date(2025, 12, 1), date(2026, 12, 31)), max_size=8, unique=True)
    )
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        start=time(start_h),
        end=time(23, 59, 59) if end_h == 24 else time(end_h),
        working_days=tuple(sorted(days)),
        holidays=tuple(sorted(holidays)),
    )


_T0 = utc(2025, 12, 1)
_moments = st.integers(0, 390 * 86_400).map(lambda s: _T0 + timedelta(seconds=s))
_pairs = st.tuples(_moments, st.integers(-86_400, 40 * 86_400)).map(
    lambda p: (p[0], p[0] + timedelta(seconds=p[1]))
)


@settings(max_examples=60, deadline=None)
@given(calendars(), st.lists(_pairs, min_size=1, max_size=40))
def test_matches_reference_on_any_calendar(
    cal: BusinessCalendar, pairs: list[tuple[datetime, datetime]]
) -> None:
    assert compute(pairs, cal) == [reference_seconds(a, b, cal) for a, b in pairs]


def test_duckdb_agrees_with_polars() -> None:
    pairs = [
        (utc(2026, 1, 9, 21), utc(2026, 1, 12, 15)),
        (utc(2026, 3, 6, 21), utc(2026, 3, 9, 14)),
        (utc(2026, 10, 30, 20, 15, 7), utc(2026, 11, 4, 13, 1, 2)),
    ]
    assert compute(pairs, NY, duck=True) == compute(pairs, NY)
