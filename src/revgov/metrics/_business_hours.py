"""Business time between two instants, vectorized, on any engine.

Business seconds are counted with a cumulative function ``F(t)``: the business seconds from a
fixed Monday to the local wall-clock time ``t``. ``F`` is whole weeks times the working week,
plus the working days before ``t`` in its week, plus the part of ``t``'s own day inside
business hours, minus the holidays passed. The time between two instants is
``F(end) - F(start)``: no loop over days, one expression per row.

Local time: polars converts time zones itself. DuckDB and PySpark keep one time zone per
session, so there the UTC offset comes from the zone's transition table (years 2000-2040,
computed once from ``zoneinfo``), joined by year as a 41-row table on the same connection
(a single expression over every transition makes SQL planners crawl); outside those years
the nearest edge's offset applies.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import narwhals as nw

from revgov.config import SLAConfig
from revgov.errors import MetricInputError
from revgov.metrics._time import epoch_seconds

__all__ = ["with_business_seconds"]

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


def _year_table(tz_name: str) -> tuple[list[str], list[tuple[Any, ...]], int]:
    """Per UTC year: the offset at its start, then up to ``k`` (change instant, new offset)
    pairs; returns the column names, the rows and ``k``."""
    first, changes = _transitions(tz_name)
    by_year: dict[int, list[tuple[float, int]]] = {}
    for at, off in changes:
        by_year.setdefault(at.year, []).append((_epoch(at), off))
    k = max((len(v) for v in by_year.values()), default=0)
    cols = ["__tz_year", "__tz_o0"] + [f"__tz_{n}{i}" for i in range(1, k + 1) for n in "to"]
    rows: list[tuple[Any, ...]] = []
    current = first
    for year in range(_FIRST_YEAR, _LAST_YEAR + 1):
        items = by_year.get(year, [])
        row: list[Any] = [year, float(current)]
        for i in range(k):
            if i < len(items):
                row += [items[i][0], float(items[i][1])]
            else:
                row += [None, None]
        rows.append(tuple(row))
        if items:
            current = items[-1][1]
    return cols, rows, k


def _native_table(lf: nw.LazyFrame[Any], cols: list[str], rows: list[tuple[Any, ...]]) -> Any:
    """A small table on the same engine (and connection or session) as ``lf``, or None."""
    native = lf.to_native()
    impl = lf.implementation
    if impl is nw.Implementation.DUCKDB:

        def lit(v: Any) -> str:
            return "NULL" if v is None else repr(v)

        values = ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)
        casts = ", ".join(
            f"CAST({c} AS {'BIGINT' if c == '__tz_year' else 'DOUBLE'}) AS {c}" for c in cols
        )
        sql = f"SELECT {casts} FROM (VALUES {values}) AS v({', '.join(cols)})"
        return native.query("__revgov_rel", sql)
    if impl is nw.Implementation.PYSPARK:
        from pyspark.sql import types as spark_types

        schema = spark_types.StructType(
            [
                spark_types.StructField(
                    c, spark_types.LongType() if c == "__tz_year" else spark_types.DoubleType()
                )
                for c in cols
            ]
        )
        return native.sparkSession.createDataFrame(rows, schema=schema)
    return None


def _with_local_seconds(
    lf: nw.LazyFrame[Any], utc: str, out: str, tz_name: str
) -> nw.LazyFrame[Any]:
    """Add ``out``: wall-clock seconds since 1970 in ``tz_name`` of the naive UTC ``utc``."""
    impl = lf.implementation
    if tz_name in ("UTC", "Etc/UTC"):
        return lf.with_columns(epoch_seconds(nw.col(utc), impl).alias(out))
    if impl is nw.Implementation.POLARS:
        local = (
            nw.col(utc)
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(tz_name)
            .dt.replace_time_zone(None)
        )
        return lf.with_columns(epoch_seconds(local, impl).alias(out))
    first, changes = _transitions(tz_name)
    secs = epoch_seconds(nw.col(utc), impl)
    if not changes:
        return lf.with_columns((secs + float(first)).alias(out))
    cols, rows, k = _year_table(tz_name)
    table = _native_table(lf, cols, rows)
    if table is None:
        # Any other engine: one CASE over every change (correct, slower to plan).
        chain = nw.when(secs < _epoch(changes[0][0])).then(nw.lit(float(first)))
        for (_, off), (nxt, _) in itertools.pairwise(changes):
            chain = chain.when(secs < _epoch(nxt)).then(nw.lit(float(off)))
        return lf.with_columns((secs + chain.otherwise(float(changes[-1][1]))).alias(out))
    # The zone's changes come in by year (an equi-join on a 41-row table): each row then needs
    # only its own year's few changes, which keeps the query small on SQL engines.
    joined = lf.with_columns(
        secs.alias("__tz_secs"), nw.col(utc).dt.year().cast(nw.Int64).alias("__tz_key")
    ).join(nw.from_native(table), left_on="__tz_key", right_on="__tz_year", how="left")
    s = nw.col("__tz_secs")
    offset: Any = nw.col("__tz_o0")
    for i in range(1, k + 1):
        t, o = nw.col(f"__tz_t{i}"), nw.col(f"__tz_o{i}")
        offset = nw.when(~t.is_null() & (s >= t)).then(o).otherwise(offset)
    year = nw.col("__tz_key")
    offset = (
        nw.when(year < _FIRST_YEAR)
        .then(nw.lit(float(first)))
        .when(year > _LAST_YEAR)
        .then(nw.lit(float(changes[-1][1])))
        .otherwise(offset)
    )
    drop = ["__tz_secs", "__tz_key", *[c for c in cols if c != "__tz_year"]]
    if "__tz_year" in joined.collect_schema().names():
        drop.append("__tz_year")
    return joined.with_columns((s + offset).alias(out)).drop(*drop)


def _epoch(moment: datetime) -> float:
    return float((moment - datetime(1970, 1, 1)).total_seconds())


def _epoch_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _day_length(sla: SLAConfig) -> tuple[int, int]:
    hours = sla.business_hours
    start_s = hours.start.hour * 3600 + hours.start.minute * 60 + hours.start.second
    end_s = hours.end.hour * 3600 + hours.end.minute * 60 + hours.end.second
    if end_s <= start_s:
        raise MetricInputError(
            f"business hours end ({hours.end}) is not after their start ({hours.start})",
            hint="set sla.business_hours.start before sla.business_hours.end",
        )
    return start_s, end_s - start_s


def _day_parts(secs: str, prefix: str, sla: SLAConfig) -> list[nw.Expr]:
    """Columns ``<prefix>day``, ``<prefix>wd`` (0 = Monday), ``<prefix>weeks`` and
    ``<prefix>in`` (business seconds of the day so far) from local seconds ``secs``."""
    start_s, day_len = _day_length(sla)
    day = (nw.col(secs) / _DAY).floor()
    monday_days = day + 3  # 1970-01-01 was a Thursday: day 0 is weekday index 3
    weeks = (monday_days / 7).floor()
    return [
        day.alias(prefix + "day"),
        (monday_days - weeks * 7).alias(prefix + "wd"),
        weeks.alias(prefix + "weeks"),
        ((nw.col(secs) - day * _DAY) - start_s).clip(0, day_len).alias(prefix + "in"),
    ]


def _cumulative(prefix: str, sla: SLAConfig) -> nw.Expr:
    """Business seconds from Monday 1969-12-29 to the moment described by ``_day_parts``."""
    _, day_len = _day_length(sla)
    working = sorted(set(sla.business_hours.working_days))
    day, weekday = nw.col(prefix + "day"), nw.col(prefix + "wd")
    in_day = nw.col(prefix + "in")
    before = nw.when(weekday == 0).then(nw.lit(0.0))
    is_working = nw.when(weekday == 0).then(nw.lit(1 in working))
    for k in range(1, 7):
        before = before.when(weekday == k).then(nw.lit(float(sum(1 for w in working if w <= k))))
        is_working = is_working.when(weekday == k).then(nw.lit((k + 1) in working))
    total = (
        nw.col(prefix + "weeks") * (len(working) * day_len)
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


def with_business_seconds(
    lf: nw.LazyFrame[Any], start: str, end: str, out: str, sla: SLAConfig
) -> nw.LazyFrame[Any]:
    """Add column ``out``: business seconds from column ``start`` to column ``end`` (naive UTC
    datetimes) under ``sla``'s time zone, hours, working days and holidays; 0 when ``end`` is
    not after ``start``, null when either is null.

    Built in steps (local seconds, then days, then the clock) so that engines which inline
    expressions into SQL get small queries.
    """
    _day_length(sla)
    s_secs, e_secs = "__bh_s", "__bh_e"
    staged = _with_local_seconds(lf, start, s_secs, sla.timezone)
    staged = _with_local_seconds(staged, end, e_secs, sla.timezone).with_columns(
        *_day_parts(s_secs, "__bhs_", sla), *_day_parts(e_secs, "__bhe_", sla)
    )
    diff = _cumulative("__bhe_", sla) - _cumulative("__bhs_", sla)
    temp = [s_secs, e_secs] + [
        p + part for p in ("__bhs_", "__bhe_") for part in ("day", "wd", "weeks", "in")
    ]
    return staged.with_columns(
        nw.when(nw.col(end) > nw.col(start)).then(diff).otherwise(0.0).alias(out)
    ).drop(*temp)
