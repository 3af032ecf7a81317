"""Business time between two instants (``revgov.definitions.calendar`` and ``business_time``,
shared by rules and
metrics): against a slow day-by-day reference in plain Python, on polars and DuckDB."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import narwhals as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from revgov.config import BusinessHours, SLAConfig
from revgov.definitions.business_time import add_business_seconds_between, epoch_microseconds
from revgov.definitions.calendar import BusinessCalendar, tz_transitions
from revgov.errors import ConfigValidationError, MetricInputError, RuleDefinitionError


def with_business_seconds(
    frame: nw.LazyFrame[Any], start: str, end: str, out: str, sla: SLAConfig
) -> nw.LazyFrame[Any]:
    """What the KPIs do: the [sla] calendar's business seconds, errors as MetricInputError."""
    calendar = BusinessCalendar.from_sla(sla)
    result: nw.LazyFrame[Any] = calendar.add_business_seconds(
        frame, start, end, out, error=MetricInputError
    )
    return result


Pair = tuple[datetime | None, datetime | None]
_US = timedelta(microseconds=1)


# -- the reference ---------------------------------------------------------------------------


def _offset_changes(zone: ZoneInfo, a: datetime, b: datetime) -> list[datetime]:
    """Instants in (a, b) where the zone's UTC offset changes: a daily scan, then bisection
    to the microsecond."""
    out = []
    t = a
    while t < b:
        nxt = min(t + timedelta(days=1), b)
        if nxt.astimezone(zone).utcoffset() != t.astimezone(zone).utcoffset():
            lo, hi = t, nxt
            while hi - lo > _US:
                mid = lo + (hi - lo) // 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        t = nxt
    return out


def reference_us(a: datetime, b: datetime, cal: BusinessCalendar) -> int:
    """Real time (microseconds) from ``a`` to ``b`` (aware) spent inside business hours.

    Between two offset changes the wall clock is UTC plus a constant, so each such piece is
    walked local day by local day, adding the overlap with each working day's hours.
    """
    if b <= a:
        return 0
    zone = ZoneInfo(cal.timezone)
    bounds = [a, *_offset_changes(zone, a, b), b]
    total = timedelta(0)
    for lo, hi in itertools.pairwise(bounds):
        offset = lo.astimezone(zone).utcoffset()
        assert offset is not None
        wall_lo = (lo + offset).replace(tzinfo=None)
        wall_hi = (hi + offset).replace(tzinfo=None)
        day = wall_lo.date()
        while day <= wall_hi.date():
            if day.isoweekday() in cal.working_days and day not in cal.holidays:
                start = max(datetime.combine(day, cal.start), wall_lo)
                end = min(datetime.combine(day, cal.end), wall_hi)
                if end > start:
                    total += end - start
            day += timedelta(days=1)
    return total // _US


def reference(pairs: Sequence[Pair], cal: BusinessCalendar) -> list[float | None]:
    out: list[float | None] = []
    for a, b in pairs:
        if a is None or b is None:
            out.append(None)
        else:
            whole, frac = divmod(reference_us(a, b, cal), 1_000_000)
            out.append(whole + frac / 1_000_000)
    return out


# -- running the expressions -----------------------------------------------------------------


def frame_of(pairs: Sequence[Pair]) -> pl.DataFrame:
    return pl.DataFrame(
        {"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]},
        schema={"a": pl.Datetime("us", "UTC"), "b": pl.Datetime("us", "UTC")},
    )


def duck(df: pl.DataFrame) -> Any:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.from_arrow(df.to_arrow())


def compute(
    pairs: Sequence[Pair], cal: BusinessCalendar, *, engine: str = "polars"
) -> list[float | None]:
    df = frame_of(pairs).with_row_index("i")
    native = duck(df) if engine == "duckdb" else df.lazy()
    out = add_business_seconds_between(nw.from_native(native), "a", "b", "s", cal)
    got = out.select("i", "s").collect(backend="polars").to_native().sort("i")
    return got["s"].to_list()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NY = BusinessCalendar(
    timezone="America/New_York",
    holidays=(date(2026, 1, 1), date(2026, 1, 19), date(2026, 7, 3)),
)
# A support desk open around the clock, every day: DST changes fall inside its hours.
NY_24_7 = BusinessCalendar(
    timezone="America/New_York",
    start=time(0),
    end=time(23, 59, 59, 999_999),
    working_days=(1, 2, 3, 4, 5, 6, 7),
)

# -- hand-computed cases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        # Friday 16:00 New York (EST, UTC-5) to Monday 10:00: 1 + 1 hours.
        (utc(2026, 1, 9, 21), utc(2026, 1, 12, 15), 7200.0),
        # Across the MLK holiday (Monday Jan 19): Friday 16:00 to Tuesday 10:00.
        (utc(2026, 1, 16, 21), utc(2026, 1, 20, 15), 7200.0),
        # Across the March DST change (Sunday Mar 8): Friday 16:00 EST to Monday 10:00 EDT.
        (utc(2026, 3, 6, 21), utc(2026, 3, 9, 14), 7200.0),
        # Inside one working day, to the microsecond.
        (utc(2026, 5, 5, 14), utc(2026, 5, 5, 14, 30, 0, 250_000), 1800.25),
        # Before opening to after closing: a full day.
        (utc(2026, 5, 5, 10), utc(2026, 5, 5, 23), 28800.0),
        # End before start.
        (utc(2026, 5, 5, 16), utc(2026, 5, 5, 15), 0.0),
        # Across New Year (a holiday on Thursday): Wednesday 16:00 to Friday 10:00.
        (utc(2025, 12, 31, 21), utc(2026, 1, 2, 15), 7200.0),
    ],
)
def test_known_intervals(start: datetime, end: datetime, seconds: float) -> None:
    assert compute([(start, end)], NY) == [seconds]
    assert compute([(start, end)], NY, engine="duckdb") == [seconds]
    assert reference([(start, end)], NY) == [seconds]


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        # 01:30 EST to 03:30 EDT on 2026-03-08: the wall clock says 2 h, one hour elapsed.
        (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30), 3600.0),
        # 01:30 EDT to 01:30 EST on 2026-11-01: the wall clock says 0 h, one hour elapsed.
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30), 3600.0),
        # A week around the autumn change: 168 real hours but the last microsecond of each
        # of the 7 days (the desk closes at 23:59:59.999999).
        (utc(2026, 10, 29, 12), utc(2026, 11, 5, 12), 604_799.999993),
    ],
)
def test_real_time_elapses_across_dst_changes_inside_business_hours(
    start: datetime, end: datetime, seconds: float
) -> None:
    assert compute([(start, end)], NY_24_7) == [seconds]
    assert compute([(start, end)], NY_24_7, engine="duckdb") == [seconds]
    assert reference([(start, end)], NY_24_7) == [seconds]


def test_nulls_propagate_and_end_before_start_is_zero() -> None:
    pairs: list[Pair] = [
        (None, utc(2026, 5, 5, 15)),
        (utc(2026, 5, 5, 15), None),
        (None, None),
        (utc(2026, 5, 6, 15), utc(2026, 5, 5, 15)),
    ]
    expected = [None, None, None, 0.0]
    assert compute(pairs, NY) == expected
    assert compute(pairs, NY, engine="duckdb") == expected


def test_transitions_of_new_york_and_london() -> None:
    ny = dict(tz_transitions("America/New_York", 2026, 2026))
    # 2026-03-08 07:00 UTC (02:00 EST) to EDT; 2026-11-01 06:00 UTC (02:00 EDT) to EST.
    assert ny[int(utc(2026, 3, 8, 7).timestamp())] == -4 * 3600
    assert ny[int(utc(2026, 11, 1, 6).timestamp())] == -5 * 3600
    london = tz_transitions("Europe/London", 2026, 2026)
    assert london == (
        (int(utc(2026, 1, 1).timestamp()), 0),
        (int(utc(2026, 3, 29, 1).timestamp()), 3600),
        (int(utc(2026, 10, 25, 1).timestamp()), 0),
    )


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_epoch_microseconds_matches_python(engine: str) -> None:
    moments = [
        utc(1970, 1, 1),
        utc(1969, 12, 31, 23, 59, 59, 500_000),
        utc(2000, 2, 29, 12, 34, 56, 789_012),
        utc(2026, 12, 31, 23, 59, 59, 999_999),
    ]
    df = pl.DataFrame({"t": moments}, schema={"t": pl.Datetime("us", "UTC")})
    frame = nw.from_native(duck(df) if engine == "duckdb" else df.lazy())
    out = frame.select(epoch_microseconds(nw.col("t"), frame.implementation).alias("e"))
    got = out.collect(backend="polars").to_native()["e"].to_list()
    assert got == [(m - utc(1970, 1, 1)) // _US for m in moments]


def test_dates_naive_and_zoned_columns_mean_the_same_instants() -> None:
    a, b = utc(2026, 3, 6, 21, 15), utc(2026, 3, 10, 13, 5, 0, 1)
    expected = compute([(a, b)], NY)
    zoned = pl.DataFrame({"a": [a], "b": [b]}).with_columns(
        pl.col("a").dt.convert_time_zone("Asia/Tokyo"),
        pl.col("b").dt.convert_time_zone("America/Los_Angeles"),
    )
    naive = zoned.with_columns(pl.all().dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    for df in (zoned, naive):
        out = add_business_seconds_between(nw.from_native(df.lazy()), "a", "b", "s", NY)
        assert out.collect().to_native()["s"].to_list() == expected
    for native in (naive.lazy(), duckdb.from_arrow(naive.to_arrow())):
        out = add_business_seconds_between(nw.from_native(native), "a", "b", "s", NY)
        assert out.collect(backend="polars").to_native()["s"].to_list() == expected
    # Dates are midnight UTC: Monday 2026-03-09 00:00 UTC is Sunday evening in New York.
    days = pl.DataFrame({"a": [date(2026, 3, 9)], "b": [date(2026, 3, 11)]})
    out = add_business_seconds_between(nw.from_native(days.lazy()), "a", "b", "s", NY)
    assert out.collect().to_native()["s"].to_list() == [16 * 3600.0]


def test_outside_the_window_of_years() -> None:
    # Before and after YEARS: the edge's offset, which is New York's winter one.
    winter = [
        (utc(1960, 1, 5, 15), utc(1960, 1, 6, 15)),
        (utc(2150, 1, 5, 15), utc(2150, 1, 6, 15)),
    ]
    plain = BusinessCalendar(timezone="America/New_York")
    assert compute(winter, plain) == reference(winter, plain) == [8 * 3600.0] * 2
    assert compute(winter, plain, engine="duckdb") == [8 * 3600.0] * 2
    # Holidays widen the window: 1950 (DST in summer) becomes exact.
    old = BusinessCalendar(timezone="America/New_York", holidays=(date(1950, 7, 4),))
    summer: list[Pair] = [(utc(1950, 7, 3, 14), utc(1950, 7, 5, 14))]  # Mon 10:00 to Wed 10:00
    assert compute(summer, old) == reference(summer, old) == [8 * 3600.0]


def test_many_holidays() -> None:
    # Every Monday and Friday of five years (520 holidays): long lists are table rows, not
    # one nested expression (which overflowed at a few hundred branches).
    first = date(2024, 1, 1)
    days = [first + timedelta(days=i) for i in range(5 * 365)]
    cal = BusinessCalendar(
        timezone="Europe/London", holidays=tuple(d for d in days if d.isoweekday() in (1, 5))
    )
    pairs: list[Pair] = [(utc(2023, 12, 20), utc(2029, 1, 10)), (utc(2026, 3, 27), utc(2026, 4, 2))]
    expected = reference(pairs, cal)
    assert compute(pairs, cal) == expected
    assert compute(pairs, cal, engine="duckdb") == expected


# -- properties ------------------------------------------------------------------------------

ZONES = [
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/St_Johns",  # UTC-3:30
    "Asia/Kolkata",
    "UTC",
]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    # Often open at night and on Sundays, when zones change their clocks.
    start = draw(st.one_of(st.just(0), st.integers(0, 12 * 60)))
    end = draw(st.one_of(st.just(24 * 60), st.integers(start + 1, 24 * 60)))
    days = draw(st.one_of(st.just({1, 2, 3, 4, 5, 6, 7}), st.sets(st.integers(1, 7), min_size=1)))
    holidays = draw(
        st.lists(st.dates(date(2025, 10, 1), date(2027, 3, 31)), max_size=12, unique=True)
    )
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        start=time(start // 60, start % 60),
        end=time(23, 59, 59, 999_999) if end == 24 * 60 else time(end // 60, end % 60),
        working_days=tuple(sorted(days)),
        holidays=tuple(sorted(holidays)),
    )


_T0 = utc(2025, 10, 1)
_SPAN_US = 540 * 86_400 * 1_000_000
# Whole seconds mostly, sometimes microseconds; lengths of hours, weeks, or across years.
_moments = st.integers(0, _SPAN_US).map(
    lambda us: _T0 + timedelta(microseconds=us if us % 3 == 0 else us - us % 1_000_000)
)
_lengths = st.one_of(
    st.integers(-86_400, 3 * 86_400),
    st.integers(0, 60 * 86_400),
    st.integers(0, 500 * 86_400),
)
_pairs = st.tuples(_moments, _lengths).map(lambda p: (p[0], p[0] + timedelta(seconds=p[1])))


@settings(max_examples=60, deadline=None)
@given(calendars(), st.lists(_pairs, min_size=1, max_size=25), st.data())
def test_matches_the_reference_on_any_calendar(
    cal: BusinessCalendar, pairs: list[Pair], data: st.DataObject
) -> None:
    # Add intervals that start or end within hours of the zone's offset changes.
    changes = _offset_changes(ZoneInfo(cal.timezone), _T0, _T0 + timedelta(days=540))
    if changes:
        near = st.tuples(
            st.sampled_from(changes), st.integers(-6 * 3600, 6 * 3600), st.integers(0, 9 * 3600)
        ).map(lambda c: (c[0] + timedelta(seconds=c[1]), c[0] + timedelta(seconds=c[1] + c[2])))
        pairs = pairs + data.draw(st.lists(near, min_size=1, max_size=10))
    assert compute(pairs, cal) == reference(pairs, cal)


@settings(max_examples=15, deadline=None)
@given(
    calendars(),
    st.lists(st.one_of(_pairs, st.tuples(st.none(), _moments)), min_size=1, max_size=25),
)
def test_duckdb_agrees_with_polars(cal: BusinessCalendar, pairs: list[Pair]) -> None:
    assert compute(pairs, cal, engine="duckdb") == compute(pairs, cal)


# -- the calendar and errors -----------------------------------------------------------------


def test_calendar_from_sla() -> None:
    sla = SLAConfig(
        timezone="Europe/Berlin",
        business_hours=BusinessHours(working_days=[5, 1, 1, 2]),
        holidays=[date(2026, 12, 25), date(2026, 1, 1), date(2026, 12, 25)],
    )
    cal = BusinessCalendar.from_sla(sla)
    assert cal.timezone == "Europe/Berlin"
    assert cal.working_days == (1, 2, 5)
    assert cal.holidays == (date(2026, 1, 1), date(2026, 12, 25))
    assert cal.day_seconds == 8 * 3600


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start": time(9), "end": time(8)}, "end 08:00:00 is not after start 09:00:00"),
        ({"start": time(9), "end": time(9)}, "is not after start"),
        ({"working_days": (0, 8)}, "ISO weekdays"),
        ({"working_days": ()}, "at least one"),
        ({"timezone": "Mars/Olympus_Mons"}, "not a known IANA time zone"),
        ({"start": time(9, tzinfo=UTC)}, "UTC offset"),
    ],
)
def test_invalid_calendars(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigValidationError, match=match):
        BusinessCalendar(**kwargs)


def test_the_sla_model_refuses_an_invalid_calendar() -> None:
    # The [sla] model runs the calendar's own check, so every caller (rules, KPIs, the demo)
    # only ever meets valid calendars; the message is the calendar's.
    with pytest.raises(ValidationError, match="business hours cannot run past midnight"):
        SLAConfig(business_hours=BusinessHours(start=time(17), end=time(9)))
    with pytest.raises(ValidationError, match="ISO weekdays"):
        SLAConfig(business_hours=BusinessHours(working_days=[0, 1]))
    with pytest.raises(ConfigValidationError, match=r"sla\.business_hours\.end: end 09:00:00"):
        BusinessCalendar(start=time(17), end=time(9))


def test_columns_must_be_dates_or_datetimes() -> None:
    frame = nw.from_native(pl.LazyFrame({"a": ["2026-01-05"], "b": [datetime(2026, 1, 6)]}))
    with pytest.raises(MetricInputError, match="column 'a' is String, not a date or datetime"):
        with_business_seconds(frame, "a", "b", "s", SLAConfig())
    with pytest.raises(RuleDefinitionError, match="not a date or datetime"):
        add_business_seconds_between(frame, "a", "b", "s", NY, error=RuleDefinitionError)


def test_duckdb_zoned_timestamps_need_a_utc_session() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/Chicago'")
    rel = con.from_arrow(frame_of([(utc(2026, 1, 5), utc(2026, 1, 6))]).to_arrow())
    with pytest.raises(MetricInputError, match="session time zone 'America/Chicago'"):
        with_business_seconds(nw.from_native(rel), "a", "b", "s", SLAConfig())


# -- the metrics entry point -----------------------------------------------------------------


def test_metrics_adapter_is_the_shared_clock() -> None:
    sla = SLAConfig(timezone=NY.timezone, holidays=list(NY.holidays))
    pairs: list[Pair] = [
        (utc(2026, 1, 9, 21), utc(2026, 1, 12, 15, 0, 0, 5)),
        (None, utc(2026, 1, 12, 15)),
    ]
    naive = frame_of(pairs).with_columns(pl.all().dt.replace_time_zone(None))
    for native in (naive.lazy(), duckdb.from_arrow(naive.to_arrow())):
        out = with_business_seconds(nw.from_native(native), "a", "b", "s", sla)
        got = out.collect(backend="polars").to_native().sort("a", nulls_last=True)["s"]
        assert got.to_list() == [7200.000005, None]


# -- PySpark ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    java17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")
    if "JAVA_HOME" not in os.environ and java17.is_dir():
        os.environ["JAVA_HOME"] = str(java17)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("revgov-business-hours")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.spark
@pytest.mark.slow
def test_spark_agrees_with_polars(spark: Any) -> None:
    pairs: list[Pair] = [
        (utc(2026, 3, 6, 21), utc(2026, 3, 9, 14, 0, 0, 250_000)),
        (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30)),
        (utc(2026, 10, 30, 20, 15, 7), utc(2027, 1, 4, 13, 1, 2)),
        (utc(1969, 6, 2, 12), utc(1969, 6, 3, 12)),
        (None, utc(2026, 1, 1)),
    ]
    df = frame_of(pairs).with_row_index("i").with_columns(pl.col("i").cast(pl.Int64))
    for cal in (NY, NY_24_7):
        native = spark.createDataFrame(df.to_arrow())
        out = add_business_seconds_between(nw.from_native(native), "a", "b", "s", cal)
        got = out.select("i", "s").collect(backend="polars").to_native().sort("i")
        assert got["s"].to_list() == compute(pairs, cal) == reference(pairs, cal)
