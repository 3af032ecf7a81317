"""Frame plumbing shared by the KPI functions: any native frame in, the same kind out.

Every KPI converts its inputs to narwhals lazy frames, builds one lazy query, and hands the
result back as the kind of frame it was given: a polars DataFrame gives a DataFrame, a polars
LazyFrame a LazyFrame, a DuckDB relation a relation, a PySpark DataFrame a PySpark DataFrame.
Frames of other eager libraries (pandas, pyarrow) are computed with polars and converted back.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypeVar, cast

import narwhals as nw
import polars as pl

from revgov.errors import MetricInputError
from revgov.metrics._enrichments import ENRICHMENTS, enrichment_error

__all__ = [
    "Columns",
    "FrameT",
    "as_list",
    "back",
    "column_or_null",
    "full_join",
    "has",
    "lazy",
    "lookup_join",
    "null_safe_join",
    "require",
    "safe_div",
    "sort_keys",
]

#: Any frame a KPI accepts: polars (eager or lazy), a DuckDB relation or a PySpark DataFrame.
FrameT = TypeVar("FrameT")

#: One column name, several, or none.
Columns = str | Sequence[str] | None

_NULL_FLAG = "__null_{}"


def as_list(cols: Columns) -> list[str]:
    """``by="segment"``, ``by=["segment", "region"]`` and ``by=None`` as a list."""
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def lazy(frame: Any, *, name: str, like: nw.LazyFrame[Any] | None = None) -> nw.LazyFrame[Any]:
    """``frame`` as a narwhals lazy frame; with ``like``, it must share that frame's engine."""
    lf: nw.LazyFrame[Any]
    if isinstance(frame, nw.LazyFrame):
        lf = frame
    elif isinstance(frame, nw.DataFrame):
        lf = _eager_to_lazy(frame)
    else:
        try:
            wrapped = nw.from_native(frame)
        except TypeError:
            raise MetricInputError(
                f"{name} must be a data frame, got {type(frame).__name__}",
                hint="pass a polars DataFrame/LazyFrame, a DuckDB relation or a PySpark DataFrame",
            ) from None
        lf = _eager_to_lazy(wrapped) if isinstance(wrapped, nw.DataFrame) else wrapped
    if like is not None and lf.implementation is not like.implementation:
        raise MetricInputError(
            f"{name} is a {lf.implementation} frame but the main input is {like.implementation}",
            hint="pass every frame of one call from the same engine (e.g. all DuckDB relations)",
        )
    return lf


def _eager_to_lazy(df: nw.DataFrame[Any]) -> nw.LazyFrame[Any]:
    if df.implementation is nw.Implementation.POLARS:
        return df.lazy()
    return df.lazy(backend=nw.Implementation.POLARS)


def back(result: nw.LazyFrame[Any], like: FrameT) -> FrameT:
    """``result`` as the same kind of frame as ``like`` (the KPI's main input)."""
    if isinstance(like, nw.LazyFrame):
        return cast("FrameT", result)
    if isinstance(like, nw.DataFrame):
        return cast("FrameT", result.collect(backend=like.implementation))
    wrapped = nw.from_native(cast("Any", like))
    if isinstance(wrapped, nw.DataFrame):
        return cast("FrameT", result.collect(backend=wrapped.implementation).to_native())
    return cast("FrameT", result.to_native())


def lookup_join(
    left: nw.LazyFrame[Any],
    lookup: nw.LazyFrame[Any],
    *,
    left_on: str,
    right_on: str,
    how: Literal["left", "inner"] = "left",
) -> nw.LazyFrame[Any]:
    """``left`` joined to ``lookup``, a table of at most one row per key of ``left``'s
    records (their account, their owner, their stage at a moment): the narwhals join, with
    the hash table built on ``lookup`` on polars, and without ``lookup``'s key column (equal
    to ``left_on`` wherever it matched; some engines keep it).

    Left to itself, polars' streaming engine may build a left join's hash table on the left
    side, holding the records whole: joining 5M people (33 columns) to 1.67M accounts peaked
    at 2.9 GB that way, 1.3 GB built on the accounts (benchmarks/bench_memory.py).
    """
    if left.implementation is nw.Implementation.POLARS:
        native: pl.LazyFrame = left.to_native()
        joined = native.join(
            lookup.to_native(),
            left_on=left_on,
            right_on=right_on,
            how=how,
            build_side="force_right",
        )
        out: nw.LazyFrame[Any] = nw.from_native(joined)
    else:
        out = left.join(lookup, left_on=left_on, right_on=right_on, how=how)
    return out.drop(right_on) if right_on != left_on and has(out, right_on) else out


def has(lf: nw.LazyFrame[Any], column: str) -> bool:
    return column in lf.collect_schema().names()


def column_or_null(lf: nw.LazyFrame[Any], column: str, dtype: Any) -> nw.Expr:
    """``column`` where the frame has it, else a null of ``dtype`` (an optional input)."""
    return nw.col(column) if has(lf, column) else nw.lit(None, dtype=dtype)


def require(lf: nw.LazyFrame[Any], columns: Iterable[str | None], *, what: str) -> None:
    """Raise :class:`MetricInputError` naming each missing column and its closest match."""
    names = lf.collect_schema().names()
    for col in columns:
        if col is None or col in names:
            continue
        if col in ENRICHMENTS:
            raise enrichment_error(col, what=what)
        close = difflib.get_close_matches(col, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise MetricInputError(
            f"{what} has no column {col!r} (columns: {', '.join(names)})",
            hint=hint + "pass the column name as a keyword argument, e.g. amount='arr'",
        )


def safe_div(num: nw.Expr, den: nw.Expr) -> nw.Expr:
    """``num / den`` as a float, null where ``den`` is zero or null (never inf or NaN)."""
    return nw.when(den != 0).then(num.cast(nw.Float64) / den.cast(nw.Float64))


def sort_keys(lf: nw.LazyFrame[Any], keys: Sequence[str]) -> nw.LazyFrame[Any]:
    """Sort by ``keys`` with nulls last, so every engine returns rows in one order."""
    return lf.sort(list(keys), nulls_last=True) if keys else lf


def _fill_value(dtype: Any) -> Any:
    if dtype == nw.String:
        return ""
    if dtype == nw.Boolean:
        return False
    if dtype == nw.Date:
        return date(1970, 1, 1)
    if isinstance(dtype, nw.Datetime) and dtype.time_zone is None:
        return datetime(1970, 1, 1)
    if dtype.is_numeric():
        return 0
    return None


def null_safe_join(
    left: nw.LazyFrame[Any],
    right: nw.LazyFrame[Any],
    on: Sequence[str],
    *,
    how: str = "left",
) -> nw.LazyFrame[Any]:
    """Join on ``on`` where a null key matches a null key (a group named null is a group).

    Engines never match nulls in joins; grouped KPI tables have null groups (an opportunity
    without a segment), so each nullable key is joined as (filled value, is-null flag).
    """
    keys = list(on)
    if not keys:
        return left.join(right, how="cross")
    schema = left.collect_schema()
    plan: list[tuple[str, Any]] = []
    for k in keys:
        fill = _fill_value(schema[k])
        if fill is None:
            raise MetricInputError(f"cannot group by {k!r} of type {schema[k]}")
        plan.append((k, fill))

    def prep(lf: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        return lf.with_columns(
            *[nw.col(k).is_null().alias(_NULL_FLAG.format(k)) for k, _ in plan],
            *[nw.col(k).fill_null(nw.lit(fill, dtype=schema[k])) for k, fill in plan],
        )

    join_on = keys + [_NULL_FLAG.format(k) for k in keys]
    joined = prep(left).join(prep(right), on=join_on, how=how)  # type: ignore[arg-type]
    return joined.with_columns(
        *[nw.when(~nw.col(_NULL_FLAG.format(k))).then(nw.col(k)).alias(k) for k in keys]
    ).drop(*[_NULL_FLAG.format(k) for k in keys])


def full_join(
    left: nw.LazyFrame[Any], right: nw.LazyFrame[Any], on: Sequence[str]
) -> nw.LazyFrame[Any]:
    """Every key of either side, with both sides' columns (null where a side lacks the key)."""
    keys = list(on)
    if not keys:
        return left.join(right, how="cross")
    all_keys = nw.concat([left.select(keys), right.select(keys)]).unique(keys)
    return null_safe_join(null_safe_join(all_keys, left, keys), right, keys)
