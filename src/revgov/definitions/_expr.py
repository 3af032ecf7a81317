"""Expression helpers the definitions (and the rules built on them) share.

Everything here builds narwhals expressions that mean the same on polars, DuckDB and PySpark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import narwhals as nw

__all__ = ["all_of", "any_of", "is_in", "lit_str", "not_null"]


def lit_str(value: str | None) -> nw.Expr:
    return nw.lit(value, nw.String())


def not_null(name: str | nw.Expr) -> nw.Expr:
    e = nw.col(name) if isinstance(name, str) else name
    return ~e.is_null()


def is_in(expr: nw.Expr, values: Iterable[Any]) -> nw.Expr:
    """``expr`` in ``values``; an empty set is false (null stays null)."""
    vals = list(dict.fromkeys(values))
    if not vals:
        return nw.when(expr.is_null()).then(nw.lit(None, nw.Boolean())).otherwise(nw.lit(False))
    return expr.is_in(vals)


def any_of(exprs: Sequence[nw.Expr]) -> nw.Expr:
    if not exprs:
        return nw.lit(False)
    out = exprs[0]
    for e in exprs[1:]:
        out = out | e
    return out


def all_of(exprs: Sequence[nw.Expr]) -> nw.Expr:
    if not exprs:
        return nw.lit(True)
    out = exprs[0]
    for e in exprs[1:]:
        out = out & e
    return out
