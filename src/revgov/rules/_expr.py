"""Small narwhals expression helpers shared by the rule kinds (the basic ones come from
:mod:`revgov.definitions._expr`, which the definitions use too).

Everything here builds expressions that mean the same on polars, DuckDB and PySpark; where
the engines disagree (float-to-text, timestamp formats) the text is built from integers so
that findings compare equal across engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw

from revgov.definitions._expr import all_of, any_of, is_in, lit_str, not_null
from revgov.definitions._text import join_words

__all__ = [
    "NULL_TEXT",
    "all_of",
    "any_of",
    "col_text",
    "fmt_number",
    "fmt_value",
    "is_in",
    "join_words",
    "lit_str",
    "lookup",
    "not_null",
    "text",
]

NULL_TEXT = "null"


def lookup(expr: nw.Expr, mapping: Mapping[Any, Any], default: nw.Expr | None = None) -> nw.Expr:
    """Map values of ``expr`` through ``mapping`` with a when/then chain (works everywhere)."""
    items = list(mapping.items())
    fallback = default if default is not None else nw.lit(None)
    if not items:
        return fallback
    key, val = items[0]
    chain = nw.when(expr == key).then(nw.lit(val))
    for key, val in items[1:]:
        chain = chain.when(expr == key).then(nw.lit(val))
    return chain.otherwise(fallback)


def fmt_number(expr: nw.Expr, decimals: int = 2) -> nw.Expr:
    """A float as fixed-point text (``-1234.50``), identical on every engine."""
    scale = 10**decimals
    # floor(x + 0.5), not round(): engines disagree on ties (half-even vs half-away).
    scaled = (expr * scale + 0.5).floor().cast(nw.Int64())
    magnitude = scaled.abs()
    whole = (magnitude // scale).cast(nw.String())
    sign = nw.when(scaled < 0).then(lit_str("-")).otherwise(lit_str(""))
    if decimals == 0:
        return nw.concat_str([sign, whole])
    frac = (magnitude % scale).cast(nw.String()).str.zfill(decimals)
    return nw.concat_str([sign, whole, lit_str("."), frac])


def fmt_value(name: str, dtype: Any) -> nw.Expr:
    """Column ``name`` as text, formatted by its dtype the same way on every engine."""
    col = nw.col(name)
    if dtype == nw.String():
        return col
    if dtype.is_float():
        return fmt_number(col)
    if dtype.is_integer() or dtype == nw.Boolean():
        return col.cast(nw.String())
    if dtype == nw.Date():
        return col.dt.to_string("%Y-%m-%d")
    if dtype == nw.Datetime:
        return col.dt.to_string("%Y-%m-%d %H:%M:%S")
    return col.cast(nw.String())


def col_text(expr: nw.Expr) -> nw.Expr:
    """A string expression with null shown as ``null`` (for messages)."""
    return expr.fill_null(NULL_TEXT)


def text(*parts: str | nw.Expr) -> nw.Expr:
    """Concatenate literal text and string expressions; nulls read ``null``."""
    exprs = [lit_str(p) if isinstance(p, str) else col_text(p) for p in parts]
    return nw.concat_str(exprs)
