"""Business time between two instants, as expressions on polars, DuckDB and PySpark.

The calendar is :class:`revgov.definitions.calendar.BusinessCalendar`: wall-clock hours on
working days, minus holidays, in one time zone. Business hours are counted with a cumulative
clock ``B(t)``: the business time that has elapsed up to the instant ``t``, so the business time from ``a`` to ``b`` is ``B(b) - B(a)`` (no loop over
days, one expression per row). ``B`` is integer arithmetic on microseconds, exact and equal
on every engine:

* wall clock ``local = t + offset(t)``, the zone's UTC offset at that instant (from
  :mod:`zoneinfo`);
* whole working days before the local day = full weeks x working days per week + working
  days before it in its week - holidays (on working days) before it;
* plus the part of the local day inside business hours, if it is a working day;
* plus a correction that keeps ``B`` counting real elapsed time across daylight-saving
  changes: a wall-clock hour skipped in spring never elapsed (subtracted), an hour repeated
  in autumn elapsed twice (added). It is zero unless business hours cover the change.

Offsets, corrections and holidays come from a small lookup table computed once per calendar:
one row per 91-day period of UTC time over
:data:`revgov.definitions.calendar.YEARS`, holding the offset in force at its
start, its zone changes (usually none or one) and the holidays it can reach. Each instant is
joined to its period's row on the frame's own engine and connection, so a row needs only a
couple of comparisons. This keeps SQL queries small whatever the window: a CASE over every
zone change made DuckDB slow to plan aggregated queries, and a longer window overflows
expression nesting. Instants outside the window take the nearest edge's row.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import narwhals as nw

from revgov.definitions.calendar import BusinessCalendar, tz_transitions
from revgov.errors import RevgovError

__all__ = ["add_business_seconds_between", "epoch_microseconds", "wall_seconds_between"]

Frame = nw.LazyFrame[Any]

_US = 1_000_000
_DAY_US = 86_400 * _US
_PERIOD_US = 91 * _DAY_US  # a row of the lookup table: a quarter's zone changes and holidays
_NEVER = 2**62  # pads absent zone changes: an instant no timestamp reaches
_NO_DAY = 10**9  # pads absent holidays: a day no timestamp reaches
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Z", "+00:00"})


def _wall_clock(cal: BusinessCalendar, local_us: int) -> int:
    """``B`` without the daylight-saving correction at a wall-clock time (microseconds since
    1970-01-01 local): the same formula as :func:`_clock`, in Python, for the table."""
    day, in_day = divmod(local_us, _DAY_US)
    weeks, weekday = divmod(day + 3, 7)  # 1969-12-29 was a Monday
    holidays = cal.holiday_days
    i = bisect_left(holidays, day)
    before = weeks * len(cal.weekdays) + sum(1 for w in cal.weekdays if weekday > w) - i
    off = i < len(holidays) and holidays[i] == day
    today = 0
    if weekday in cal.weekdays and not off:
        today = min(max(in_day - cal.start_us, 0), cal.day_us)
    return before * cal.day_us + today


@dataclass(frozen=True)
class _Table:
    """One row per period of :data:`_PERIOD_US` from ``start_us``, keyed ``p`` (0, 1, ...):
    offset ``o0`` and correction ``c0`` in force at its start; each zone change ``t{i}``
    in it (epoch microseconds) with the offset ``o{i}`` and cumulative correction ``c{i}``
    from then on; ``hb``, the holidays before the first local day the period can reach;
    ``h{j}``, the holidays on the local days it can reach (days since 1970). Absent changes
    and holidays are padded so that no instant matches them."""

    columns: tuple[str, ...]
    rows: tuple[tuple[int, ...], ...]
    changes: int
    holidays: int
    start_us: int


@lru_cache(maxsize=32)
def _period_table(cal: BusinessCalendar) -> _Table:
    lo, hi = cal.years()
    first, *later = tz_transitions(cal.timezone, lo, hi)
    start_us = first[0] * _US
    stop_us = int(datetime(hi + 1, 1, 1, tzinfo=UTC).timestamp()) * _US
    periods = -(-(stop_us - start_us) // _PERIOD_US)
    prev, total = first[1] * _US, 0
    changes: dict[int, list[tuple[int, int, int]]] = {}
    for at, off in later:
        at_us, off_us = at * _US, off * _US
        # Wall-clock business time skipped (spring) or repeated (autumn) at this change.
        total += _wall_clock(cal, at_us + prev) - _wall_clock(cal, at_us + off_us)
        changes.setdefault((at_us - start_us) // _PERIOD_US, []).append((at_us, off_us, total))
        prev = off_us
    k = max((len(v) for v in changes.values()), default=0)
    holidays = cal.holiday_days
    # Offsets are under a day, so an instant's local day is its UTC day +-1.
    spans = [
        (
            (start_us + p * _PERIOD_US) // _DAY_US - 1,
            (start_us + (p + 1) * _PERIOD_US - 1) // _DAY_US + 1,
        )
        for p in range(periods)
    ]
    m = max(bisect_right(holidays, d1) - bisect_left(holidays, d0) for d0, d1 in spans)
    rows: list[tuple[int, ...]] = []
    state = (first[1] * _US, 0)
    for p, (d0, d1) in enumerate(spans):
        row = [p, *state]
        items = changes.get(p, [])
        for i in range(k):
            row += items[i] if i < len(items) else (_NEVER, 0, 0)
        a, b = bisect_left(holidays, d0), bisect_right(holidays, d1)
        row += [a, *holidays[a:b], *[_NO_DAY] * (m - (b - a))]
        rows.append(tuple(row))
        if items:
            state = items[-1][1:]
    columns: tuple[str, ...] = ("p", "o0", "c0")
    columns += tuple(f"{n}{i}" for i in range(1, k + 1) for n in "toc")
    columns += ("hb", *[f"h{j}" for j in range(1, m + 1)])
    return _Table(columns, tuple(rows), k, m, start_us)


def _join_table(
    frame: Frame, table: _Table, prefixes: Sequence[str], error: type[RevgovError]
) -> Frame:
    """Left-join ``table`` once per prefix ``x`` on ``x + "p"``, its columns renamed
    ``x + name``, on ``frame``'s own engine (same DuckDB connection or Spark session)."""
    native = frame.to_native()
    impl = frame.implementation
    data = [c for c in table.columns if c != "p"]
    if impl is nw.Implementation.POLARS:
        import polars as pl

        right = pl.LazyFrame(
            list(table.rows), schema=dict.fromkeys(table.columns, pl.Int64), orient="row"
        )
        for x in prefixes:
            renamed = right.rename({c: x + c for c in table.columns})
            # polars keeps the caller's row order only when asked to.
            native = native.join(renamed, on=x + "p", how="left", maintain_order="left")
        joined: Frame = nw.from_native(native)
        return joined
    if impl is nw.Implementation.DUCKDB:
        # The table travels as one text literal split in SQL (a VALUES list of thousands of
        # numbers is slow to parse and plan), inside the one query that joins it: a table of
        # its own would be bound to the frame's connection through the frame, copying the
        # frame's whole query into every later step.
        text = ";".join(",".join(map(str, r)) for r in table.rows)
        casts = ", ".join(f"CAST(r[{i + 1}] AS BIGINT) AS {c}" for i, c in enumerate(table.columns))
        rows = f"SELECT string_split(unnest(string_split('{text}', ';')), ',') AS r"
        aliases = {p: f"t{i}" for i, p in enumerate(prefixes)}
        picks = ", ".join(f"{a}.{c} AS {_quote(p + c)}" for p, a in aliases.items() for c in data)
        joins = " ".join(
            f"LEFT JOIN t AS {a} ON s.{_quote(p + 'p')} = {a}.p" for p, a in aliases.items()
        )
        view = "__revgov_business_hours"
        sql = f"WITH t AS (SELECT {casts} FROM ({rows})) SELECT s.*, {picks} FROM {view} s {joins}"
        return nw.from_native(native.query(view, sql))
    if impl in (nw.Implementation.PYSPARK, nw.Implementation.PYSPARK_CONNECT):
        from pyspark.sql import types as st

        schema = st.StructType([st.StructField(c, st.LongType(), False) for c in table.columns])
        right = native.sparkSession.createDataFrame(list(table.rows), schema=schema)
        for x in prefixes:
            native = native.join(right.toDF(*[x + c for c in table.columns]), x + "p", "left")
        return nw.from_native(native)
    raise error(
        f"business hours are computed on polars, DuckDB or PySpark frames, not {impl.name}",
        hint="collect the frame to polars first",
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _floor_div(x: nw.Expr, d: int, impl: nw.Implementation) -> nw.Expr:
    """``x // d`` of integers. narwhals writes floor division for SQL engines as a large CASE
    repeating ``x``, which bloats their queries; there ``(x - x mod d) / d`` is used, exact in
    double precision for ``|x| < 2**53`` (microseconds since 1970 until the year 2255)."""
    if impl is nw.Implementation.POLARS:
        return x // d
    return ((x - x % d) / d).cast(nw.Int64())


def epoch_microseconds(ts: nw.Expr, implementation: nw.Implementation) -> nw.Expr:
    """Microseconds since 1970-01-01 UTC of a naive (UTC) or UTC datetime, as Int64.

    polars and DuckDB compute it directly; Spark builds it from calendar parts (read in the
    session time zone)."""
    if implementation is nw.Implementation.POLARS:
        return ts.dt.timestamp("us")
    if implementation is nw.Implementation.DUCKDB:
        return (ts - nw.lit(datetime(1970, 1, 1))).dt.total_microseconds().cast(nw.Int64())
    y = ts.dt.year().cast(nw.Int64()) - 1
    leaps = sum(
        (_floor_div(y, n, implementation) * sign for n, sign in ((4, 1), (100, -1), (400, 1))),
        start=nw.lit(-477),  # leap days before 1970: 1969//4 - 1969//100 + 1969//400
    )
    days = (y - 1969) * 365 + leaps + ts.dt.ordinal_day().cast(nw.Int64()) - 1
    seconds = (
        days * 86_400
        + ts.dt.hour().cast(nw.Int64()) * 3600
        + ts.dt.minute().cast(nw.Int64()) * 60
        + ts.dt.second().cast(nw.Int64())
    )
    return seconds * _US + ts.dt.microsecond().cast(nw.Int64())


def _instant(
    schema: Any, column: str, impl: nw.Implementation, error: type[RevgovError]
) -> nw.Expr:
    """Column ``column`` as a naive UTC datetime (polars: any datetime)."""
    dtype = schema[column]
    if dtype == nw.Date:
        return nw.col(column).cast(nw.Datetime("us"))
    if not isinstance(dtype, nw.Datetime):
        raise error(
            f"column {column!r} is {dtype}, not a date or datetime",
            hint="business hours are measured between timestamps: type the column as one",
        )
    tz = dtype.time_zone
    if tz is None or impl is nw.Implementation.POLARS:
        return nw.col(column)  # polars reads epochs of zoned datetimes in UTC
    if tz in _UTC_NAMES:
        # Naive in the (UTC) session: cheaper to take apart than zoned values on DuckDB.
        return nw.col(column).dt.replace_time_zone(None)
    raise error(
        f"column {column!r} is read in the session time zone {tz!r}; business hours need "
        "UTC timestamps",
        hint="DuckDB: con.execute(\"SET TimeZone = 'UTC'\"); Spark: "
        "spark.conf.set('spark.sql.session.timeZone', 'UTC')",
    )


def _pick(t: _Table, prefix: str, name: str, at: nw.Expr) -> nw.Expr:
    """The value ``name`` (``o`` or ``c``) of the latest zone change at or before ``at``."""
    if not t.changes:
        return nw.col(f"{prefix}{name}0")
    k = t.changes
    chain = nw.when(at >= nw.col(f"{prefix}t{k}")).then(nw.col(f"{prefix}{name}{k}"))
    for i in range(k - 1, 0, -1):
        chain = chain.when(at >= nw.col(f"{prefix}t{i}")).then(nw.col(f"{prefix}{name}{i}"))
    return chain.otherwise(nw.col(f"{prefix}{name}0"))


def _runs(weekdays: tuple[int, ...]) -> list[tuple[int, int]]:
    """Sorted weekdays as runs ``(first, last)`` of consecutive days: (0, 4) for Mon-Fri."""
    runs: list[tuple[int, int]] = []
    for w in weekdays:
        if runs and runs[-1][1] == w - 1:
            runs[-1] = (runs[-1][0], w)
        else:
            runs.append((w, w))
    return runs


def _clock(t: _Table, cal: BusinessCalendar, prefix: str, impl: nw.Implementation) -> nw.Expr:
    """``B`` (microseconds) from the staged columns ``local``, ``day``, ``corr`` and the
    table's holiday columns."""
    day, local = nw.col(prefix + "day"), nw.col(prefix + "local")
    weekday = (day + 3) % 7  # 0 = Monday (1969-12-29 was one)
    weeks = _floor_div(day + 3, 7, impl)
    before: nw.Expr = weeks * len(cal.weekdays) - nw.col(prefix + "hb")
    # Runs of working days, not a test per day or is_in (which DuckDB turns into a join).
    working: nw.Expr = nw.lit(False)
    for first, last in _runs(cal.weekdays):
        before = before + (weekday - first).clip(0, last - first + 1)
        ends = [weekday >= first] if first > 0 else []
        ends += [weekday <= last] if last < 6 else []
        working = working | (nw.all_horizontal(*ends, ignore_nulls=False) if ends else True)
    holiday: nw.Expr = nw.lit(False)
    for j in range(1, t.holidays + 1):
        h = nw.col(f"{prefix}h{j}")
        before = before - (day > h).cast(nw.Int64())
        holiday = holiday | (day == h)
    in_hours = (local - day * _DAY_US - cal.start_us).clip(0, cal.day_us)
    today = nw.when(working & ~holiday).then(in_hours).otherwise(nw.lit(0))
    return before * cal.day_us + today + nw.col(prefix + "corr")


def add_business_seconds_between(
    frame: Frame,
    start: str,
    end: str,
    out: str,
    calendar: BusinessCalendar,
    *,
    error: type[RevgovError] = RevgovError,
) -> Frame:
    """Add column ``out`` (Float64): business seconds from column ``start`` to column ``end``
    under ``calendar``, to the microsecond; 0 when ``end`` is not after ``start``, null when
    either is null.

    The columns are dates (midnight UTC), naive UTC datetimes or time-zone-aware datetimes
    (on DuckDB and Spark the session time zone must be UTC). Frames of other engines and
    columns of other types raise ``error``.

    Built in stages of ``with_columns`` so that SQL engines see each intermediate once.
    """
    impl = frame.implementation
    schema = frame.collect_schema()
    table = _period_table(calendar)
    last = len(table.rows) - 1
    parts = {f"__bh_{out}_a_": start, f"__bh_{out}_b_": end}
    frame = frame.with_columns(
        *[
            epoch_microseconds(_instant(schema, column, impl, error), impl).alias(p + "us")
            for p, column in parts.items()
        ]
    )
    # Instants outside the table's periods take its first or last row.
    frame = frame.with_columns(
        *[
            _floor_div(nw.col(p + "us") - table.start_us, _PERIOD_US, impl)
            .clip(0, last)
            .alias(p + "p")
            for p in parts
        ]
    )
    frame = _join_table(frame, table, list(parts), error)
    frame = frame.with_columns(
        *[
            e
            for p in parts
            for e in (
                (nw.col(p + "us") + _pick(table, p, "o", nw.col(p + "us"))).alias(p + "local"),
                _pick(table, p, "c", nw.col(p + "us")).alias(p + "corr"),
            )
        ]
    )
    frame = frame.with_columns(
        *[_floor_div(nw.col(p + "local"), _DAY_US, impl).alias(p + "day") for p in parts]
    )
    a, b = (_clock(table, calendar, p, impl) for p in parts)
    elapsed, name = b - a, f"__bh_{out}_d"
    frame = frame.with_columns(nw.when(elapsed < 0).then(nw.lit(0)).otherwise(elapsed).alias(name))
    diff = nw.col(name)
    # Whole and fractional seconds apart: engines that multiply by 1e-6 instead of dividing
    # by 1e6 then still agree to the last bit.
    whole = _floor_div(diff, _US, impl).cast(nw.Float64())
    seconds = whole + (diff % _US).cast(nw.Float64()) / _US
    temps = [p + c for p in parts for c in (*table.columns, "us", "local", "corr", "day")]
    return frame.with_columns(seconds.alias(out)).drop(*temps, name)


def wall_seconds_between(
    frame: Frame,
    start: str,
    end: str,
    out: str,
    *,
    error: type[RevgovError] = RevgovError,
) -> Frame:
    """Add column ``out`` (Float64): wall-clock seconds from column ``start`` to column
    ``end`` (nights, weekends and holidays count), to the microsecond; 0 when ``end`` is not
    after ``start``, null when either is null. The columns are read as
    :func:`add_business_seconds_between` reads them, on every engine."""
    impl = frame.implementation
    schema = frame.collect_schema()
    a, b = (epoch_microseconds(_instant(schema, c, impl, error), impl) for c in (start, end))
    name = f"__wall_{out}_d"
    frame = frame.with_columns((b - a).alias(name))
    diff = nw.when(nw.col(name) < 0).then(nw.lit(0)).otherwise(nw.col(name))
    whole = _floor_div(diff, _US, impl).cast(nw.Float64())
    seconds = whole + (diff % _US).cast(nw.Float64()) / _US
    return frame.with_columns(seconds.alias(out)).drop(name)
