"""Building blocks the KPI modules share: outcome flags, close time, grouping keys, the
aggregations and the shape of a KPI's result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw

from revgov.errors import MetricInputError
from revgov.metrics._frames import Columns, FrameT, as_list, back, has, require, sort_keys
from revgov.metrics._time import naive, parse_every, period_start
from revgov.metrics.enrich import ENRICHMENTS, enrichment_error

__all__ = [
    "PERIOD",
    "absent_as_zero",
    "aggregate",
    "close_time",
    "closed_flag",
    "count_if",
    "deal_closed",
    "keyed",
    "lookup",
    "lost_flag",
    "per_group",
    "period_of",
    "quantile_aggs",
    "summarize",
    "total",
    "won_flag",
]

#: Name of the period column every KPI adds when given ``every=``.
PERIOD = "period"


def won_flag(is_won: str) -> nw.Expr:
    """Closed won (a null flag is not won)."""
    return nw.col(is_won).fill_null(False)


def closed_flag(is_closed: str, is_won: str) -> nw.Expr:
    """Closed, won or lost (a won deal is closed even when the closed flag is blank)."""
    return nw.col(is_closed).fill_null(False) | nw.col(is_won).fill_null(False)


def deal_closed(lf: nw.LazyFrame[Any], is_closed: str, is_won: str) -> nw.Expr:
    """:func:`closed_flag` of ``lf``'s deals; a frame without ``is_closed`` counts its won
    deals as its closed ones."""
    return closed_flag(is_closed, is_won) if has(lf, is_closed) else won_flag(is_won)


def lost_flag(is_closed: str, is_won: str) -> nw.Expr:
    return nw.col(is_closed).fill_null(False) & ~nw.col(is_won).fill_null(False)


def close_time(lf: nw.LazyFrame[Any], closed_at: str | None, close_date: str | None) -> nw.Expr:
    """When a deal closed: ``closed_at`` where known, else ``close_date`` (midnight UTC)."""
    schema = lf.collect_schema()
    parts = [naive(schema, c) for c in (closed_at, close_date) if c and c in schema.names()]
    if not parts:
        raise MetricInputError(
            f"the frame has neither {closed_at!r} nor {close_date!r}",
            hint="map the close timestamp or date of deals (closed_at or close_date)",
        )
    return parts[0] if len(parts) == 1 else nw.coalesce(*parts)


def keyed(
    lf: nw.LazyFrame[Any],
    *,
    by: Columns,
    every: str | None,
    time: nw.Expr | str | None,
    what: str,
) -> tuple[nw.LazyFrame[Any], list[str]]:
    """Check the ``by`` columns and add the ``period`` column of ``time`` (an expression, or
    the name of a date or datetime column); returns the group keys."""
    keys = as_list(by)
    for k in keys:
        if k in ENRICHMENTS and not has(lf, k):
            raise enrichment_error(k, what=what, given=False)
    require(lf, keys, what=what)
    if isinstance(time, str):
        time = naive(lf.collect_schema(), time)
    if PERIOD in keys:
        raise MetricInputError(f"{PERIOD!r} is reserved for every=; rename that column")
    step = parse_every(every)
    if step is not None:
        if time is None:  # pragma: no cover - every KPI with every= passes a time
            raise MetricInputError(f"{what}: every= needs a time column")
        lf = lf.with_columns(period_start(time, step).alias(PERIOD))
        keys = [*keys, PERIOD]
    return lf, keys


def aggregate(
    lf: nw.LazyFrame[Any], keys: Sequence[str], aggs: Sequence[nw.Expr]
) -> nw.LazyFrame[Any]:
    """One row per key (or one row in all when there are no keys)."""
    if keys:
        return lf.group_by(list(keys)).agg(*aggs)
    return lf.select(*aggs)


def summarize(
    lf: nw.LazyFrame[Any],
    keys: Sequence[str],
    aggs: Sequence[nw.Expr],
    like: FrameT,
    *,
    then: Sequence[nw.Expr] = (),
) -> FrameT:
    """A KPI's result: one row per group of ``keys`` with ``aggs`` (and the columns ``then``
    computes from them), sorted by the keys, as the kind of frame ``like`` is."""
    out = aggregate(lf, keys, aggs)
    if then:
        out = out.with_columns(*then)
    return back(sort_keys(out, keys), like)


def period_of(lf: nw.LazyFrame[Any], column: str, every: str) -> nw.Expr:
    """The ``period`` column: the start of the ``every`` period holding date/time ``column``."""
    return period_start(naive(lf.collect_schema(), column), every).alias(PERIOD)


def per_group(expr: nw.Expr, keys: Sequence[str], *, order_by: str | None = None) -> nw.Expr:
    """``expr`` as a window over each group of ``keys`` (the whole frame without keys)."""
    if order_by is not None:
        return expr.over(*keys, order_by=order_by)
    return expr.over(*keys) if keys else expr


def absent_as_zero(column: str, marker: str) -> nw.Expr:
    """``column`` after an outer join: 0 where the row's side was absent (``marker`` is null),
    else its value (a null sum of blank amounts stays unknown)."""
    return nw.when(nw.col(marker).is_null()).then(0.0).otherwise(nw.col(column)).alias(column)


def lookup(key: nw.Expr, values: Mapping[Any, Any], dtype: Any) -> nw.Expr:
    """``values[key]`` per row as a literal of ``dtype`` (null for other keys): a small table
    of the config as a ``when/then`` chain, one query on every engine."""
    items = list(values.items())
    if not items:
        return nw.lit(None, dtype=dtype)
    chain = nw.when(key == items[0][0]).then(nw.lit(items[0][1], dtype=dtype))
    for k, v in items[1:]:
        chain = chain.when(key == k).then(nw.lit(v, dtype=dtype))
    return chain


def count_if(cond: nw.Expr) -> nw.Expr:
    """How many rows meet ``cond`` (a null condition is not met), as an Int64."""
    return cond.fill_null(False).cast(nw.Int64).sum().cast(nw.Int64)


#: Fixed-point type of exact sums: 9 decimals, up to 10^29.
EXACT = nw.Decimal(38, 9)


def total(expr: nw.Expr, *, where: nw.Expr | None = None, exact: bool = False) -> nw.Expr:
    """Sum of ``expr`` as a float over the rows (those meeting ``where``, if given).

    Blanks add nothing, and no rows sum to 0; but rows whose values are *all* blank sum to
    null: a total of unknown amounts is unknown, not zero (a CRM without amounts has no
    bookings value). The same on every engine (polars sums all-null groups to 0, SQL to null).

    ``exact``: each value is rounded to 9 decimals and summed in fixed point, so the total
    does not depend on the order the rows arrive in (float addition does, in its last bits,
    and joins return rows in any order).
    """
    value = expr.cast(EXACT) if exact else expr.cast(nw.Float64)
    zero = nw.lit(0, dtype=EXACT) if exact else nw.lit(0.0)
    if where is None:
        rows, known, summed = nw.len(), value.count(), value.fill_null(zero).sum()
    else:
        cond = where.fill_null(False)
        rows = count_if(cond)
        known = count_if(cond & ~value.is_null())
        summed = nw.when(cond).then(value).fill_null(zero).sum()
    return nw.when((known > 0) | (rows == 0)).then(summed).cast(nw.Float64)


def quantile_aggs(value: nw.Expr, suffix: str) -> list[nw.Expr]:
    """mean, median, p75 and p90 of ``value`` (linear interpolation), named ``<stat>_<suffix>``."""
    return [
        value.mean().alias(f"mean_{suffix}"),
        value.median().alias(f"median_{suffix}"),
        value.quantile(0.75, interpolation="linear").alias(f"p75_{suffix}"),
        value.quantile(0.90, interpolation="linear").alias(f"p90_{suffix}"),
    ]
