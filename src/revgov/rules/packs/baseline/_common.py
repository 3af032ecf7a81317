"""What the baseline pack's rules share: their origin, owners, and the reference time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import narwhals as nw

from revgov.rules.base import Derivation, DeriveContext, Frame

__all__ = ["AS_OF_PARAM", "MOPS", "OPS", "SOPS", "TimeParam", "as_of_column", "builtin"]

#: Rules that compare against the audit's reference time read it from this derivation.
AS_OF_PARAM = "__as_of"

OPS = "revops"
MOPS = "marketing-ops"
SOPS = "sales-ops"


def builtin(**meta: Any) -> dict[str, Any]:
    """The keyword arguments every pack rule takes: built in, and skipped (with the reason)
    rather than failing when its inputs are absent."""
    return {"origin": "builtin", "optional": True, **meta}


def as_of_column(entity: str) -> Derivation:
    """``__as_of`` (the reference time) and ``__as_of_date`` as columns, so rule expressions
    built before the audit can compare against it."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return frame.with_columns(
            nw.lit(ctx.as_of).alias(AS_OF_PARAM),
            nw.lit(ctx.as_of.date()).alias(f"{AS_OF_PARAM}_date"),
        )

    return Derivation(
        name=f"{entity}.as_of", build=build, provides=(AS_OF_PARAM, f"{AS_OF_PARAM}_date")
    )


class TimeParam:
    """A column holding ``as_of + days`` (known only at audit time)."""

    def __init__(self, days: int) -> None:
        self.days = days
        self.column = f"__as_of_{'m' if days < 0 else 'p'}{abs(days)}d"

    def derivation(self, entity: str) -> Derivation:
        days, column = self.days, self.column

        def build(frame: Frame, ctx: DeriveContext) -> Frame:
            return frame.with_columns(nw.lit(ctx.as_of + timedelta(days=days)).alias(column))

        return Derivation(name=f"{entity}.{column}", build=build, provides=(column,))
