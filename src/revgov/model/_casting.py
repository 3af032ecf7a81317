"""Vectorized casts from raw (mostly text) columns to canonical types, in two passes.

Pass one casts every column with its most likely spelling (for timestamps, the format that
parses most of a sample), in one parallel ``select``. Pass two re-reads only the values that
pass one left null although the raw value was not blank, trying every known spelling. Values
that still fail are the quarantine's. Most pages never reach pass two, so typing costs about
one cast per column.

No cast guesses: a ``date`` field takes a calendar date, or the date of a timestamp in UTC
(without offset, which revgov reads as UTC everywhere, with ``Z`` or ``+00:00``, or epoch
milliseconds); a timestamp with another UTC offset is a failure, not its UTC date
(``2024-03-01T23:30-0500`` is March 1 where it was written and March 2 in UTC: which one the
company means is not the loader's guess). An ``int`` field takes whole numbers only (``2.5``
is not truncated to 2), and a ``bool`` field reads the numbers 0 and 1 only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import polars as pl

from revgov.model._types import DTYPES, FieldType

# Timestamp spellings seen in CRM APIs and exports.
_AWARE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%d %H:%M%z",
)
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
)
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_BOOL_FAST: Mapping[str, bool] = {
    **{v: True for v in ("true", "True", "TRUE", "1")},
    **{v: False for v in ("false", "False", "FALSE", "0")},
}
_BLANK = r"^\s*$"
#: A UTC offset other than zero at the end of a timestamp; epoch milliseconds.
_NONZERO_OFFSET = r"[+-](?:0[1-9]|[1-9]\d)(?::?\d{2})?$|[+-]00:?(?:0[1-9]|[1-5]\d)$"
_EPOCH_MS = r"^\d{11,13}$"

DATE_HOLDS_TIME = (
    "a date column holds a time with a UTC offset, whose date depends on the time zone (a date "
    "column takes YYYY-MM-DD or a UTC timestamp): map a column that holds the date as the "
    "company means it"
)


def is_blank(expr: pl.Expr) -> pl.Expr:
    """Empty or whitespace-only text."""
    return expr.cast(pl.String).str.contains(_BLANK)


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String)
    return pl.when(text.str.contains(_BLANK)).then(None).otherwise(text)


def _datetime_candidates(raw: pl.Expr) -> list[pl.Expr]:
    """One expression per known spelling; order is the tie-break."""
    out = [
        raw.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        for f in _AWARE_FORMATS
    ]
    out += [
        raw.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for f in _NAIVE_FORMATS
    ]
    out.append(
        raw.str.to_date("%Y-%m-%d", strict=False)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    out.append(
        pl.when(raw.str.contains(_EPOCH_MS))
        .then(raw.cast(pl.Int64, strict=False))
        .cast(pl.Datetime("ms"))
        .dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC")
    )
    return out


def full_parse(raw: pl.Expr, ftype: FieldType) -> pl.Expr:
    """Every known spelling of ``ftype``, first match wins; null where none fits."""
    raw = raw.cast(pl.String).str.strip_chars()
    if ftype == "string":
        return pl.when(raw == "").then(None).otherwise(raw)
    if ftype == "int":
        as_float = raw.cast(pl.Float64, strict=False)
        whole = pl.when(as_float == as_float.floor()).then(as_float).cast(pl.Int64, strict=False)
        return pl.coalesce(raw.cast(pl.Int64, strict=False), whole)
    if ftype == "float":
        return raw.cast(pl.Float64, strict=False)
    if ftype == "bool":
        low = raw.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    if ftype == "date":
        stamp = pl.coalesce(*_datetime_candidates(raw))
        return pl.coalesce(
            raw.str.to_date("%Y-%m-%d", strict=False),
            pl.when(~raw.str.contains(_NONZERO_OFFSET)).then(stamp.dt.date()),
        )
    return pl.coalesce(*_datetime_candidates(raw))


def date_reasons(raw: pl.Expr) -> pl.Expr:
    """Why each value of ``raw`` (that a date field could not take) is not a date."""
    text = raw.cast(pl.String).str.strip_chars()
    stamp = pl.coalesce(*_datetime_candidates(text))
    return (
        pl.when(stamp.is_not_null())
        .then(pl.lit(DATE_HOLDS_TIME))
        .otherwise(pl.lit("not a date (YYYY-MM-DD)"))
    )


def _best_datetime(sample: pl.Series) -> int:
    """Index of the timestamp spelling that parses most of ``sample``."""
    candidates = _datetime_candidates(pl.col("v"))
    hits = (
        sample.cast(pl.String)
        .to_frame("v")
        .select([c.is_not_null().sum().alias(str(i)) for i, c in enumerate(candidates)])
        .row(0)
    )
    return max(range(len(candidates)), key=lambda i: (hits[i], -i))


def cast_typed(expr: pl.Expr, ftype: FieldType, source: pl.DataType) -> pl.Expr:
    """Cast a non-text column of another dtype (e.g. Parquet Int32, naive Datetime)."""
    target = DTYPES[ftype]
    if ftype == "datetime" and source == pl.Date():
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if ftype == "datetime" and isinstance(source, pl.Datetime):
        expr = expr.dt.cast_time_unit("us")
        if source.time_zone is None:
            return expr.dt.replace_time_zone("UTC")
        return expr.dt.convert_time_zone("UTC")
    if ftype == "date" and isinstance(source, pl.Datetime):
        if source.time_zone is None:
            return expr.dt.date()
        offset = expr.dt.base_utc_offset() + expr.dt.dst_offset()
        return pl.when(offset == timedelta(0)).then(expr.dt.date())
    if ftype == "int" and source.is_float():
        return pl.when(expr == expr.floor()).then(expr.cast(pl.Int64, strict=False))
    if ftype == "bool" and source.is_numeric():
        return pl.when((expr == 0) | (expr == 1)).then(expr.cast(pl.Boolean))
    if source.is_numeric() or source == pl.Boolean():
        return expr.cast(target, strict=False)
    return full_parse(expr, ftype)


def is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String(), pl.Null())


def fast_cast(col: str, ftype: FieldType, source: pl.DataType, sample: pl.Series) -> pl.Expr:
    """Pass one: the cheapest cast that is right for the usual spelling of the column."""
    c = pl.col(col)
    if ftype == "string":
        return blank_to_null(c).alias(col)
    if source == DTYPES[ftype]:
        return c
    if not is_text(source):
        return cast_typed(c, ftype, source).alias(col)
    if ftype == "int":
        return c.cast(pl.Int64, strict=False)
    if ftype == "float":
        return c.cast(pl.Float64, strict=False)
    if ftype == "bool":
        return c.replace_strict(_BOOL_FAST, default=None, return_dtype=pl.Boolean)
    if ftype == "date":
        return c.str.to_date("%Y-%m-%d", strict=False)
    if sample.len() == 0:
        return full_parse(c, "datetime").alias(col)
    return _datetime_candidates(c)[_best_datetime(sample)].alias(col)


def slow_cast(col: str, ftype: FieldType, source: pl.DataType) -> pl.Expr:
    """Pass two: every spelling, for the few values pass one could not read."""
    c = pl.col(col)
    if is_text(source):
        return full_parse(c, ftype).alias(col)
    return cast_typed(c, ftype, source).alias(col)
